"""MCP server: safe database access for AI agents."""
