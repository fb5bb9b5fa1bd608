"""Following projects on disk: inotify events in, whole-file index requests to the DB owner out."""
