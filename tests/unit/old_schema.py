"""Databases as an earlier version left them, for the tests of an upgrade in place."""

# What the migration after header chunks (migrations.DEFINITION_SEARCH) added, taken away again.
UNDO_DEFINITION_SEARCH = """
    DROP TRIGGER definitions_named; DROP TRIGGER definitions_unnamed; DROP TRIGGER definitions_renamed;
    DROP TABLE definition_names; DROP INDEX definitions_by_file_line;
    CREATE INDEX definitions_by_file ON definitions(file_id);
"""
