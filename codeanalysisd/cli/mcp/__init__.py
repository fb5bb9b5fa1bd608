"""``codeanalysisctl mcp``: the suite's tools for coding agents, over MCP on stdio.

A thin client of the Manager on the bus, started by the agent as its user: every answer is
that user's view under the service's rules, says whether the index is fresh for each project
it touches, and is bounded in size and paged. ``args`` checks arguments against the tools'
own schemas, ``pages`` sizes and pages answers, ``tools`` holds the tools, ``server`` speaks
MCP with the official SDK, over ``stdio``.
"""
