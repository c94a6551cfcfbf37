"""The SQL guard: layer 2 of the MCP server's read-only promise (layer 1 is the session).

``guard_sql`` lets through exactly one read-only query and refuses everything else with
:class:`SqlRefused`, whose message names the rule and the offending construct.

Two holes in earlier MCP servers shape this module:

- a read-only transaction escaped by ``SELECT 1; COMMIT; DROP ...`` — so statements are
  counted twice, by sqlglot and by an independent scanner that mirrors the PostgreSQL /
  DuckDB lexer, and the two must agree on every quote and comment;
- ``SELECT * FROM pg_read_file(...)`` slipping past a parser-based filter that only
  looked at the select list — so the *whole* tree is walked (CTEs, subqueries, LATERAL,
  FROM-clause table functions) and, as a backstop, every ``name(`` in the token stream is
  checked against the denylist too.

Decisions (see also the denylist below):

- ``EXPLAIN`` and ``EXPLAIN ANALYZE`` are allowed only around a statement that passes this
  guard on its own; ANALYZE runs that query, which is no more than running it directly.
- ``SHOW`` is allowed with plain names only (``SHOW search_path``, ``SHOW TABLES``): it
  reads settings or catalog data. ``DESCRIBE`` / ``SUMMARIZE`` are DuckDB-only.
- ``current_setting(name)`` is allowed: it reads what ``SHOW`` and ``pg_settings`` show,
  and PostgreSQL itself hides sensitive settings from unprivileged roles. ``set_config``
  and DuckDB's ``getenv`` (process environment, i.e. secrets) are refused.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.tokenizer_core import Token, TokenType

from headrace.errors import UsageError

MAX_SQL_CHARS = 100_000

DIALECTS = ("postgres", "duckdb")


class SqlRefused(UsageError):
    """The SQL guard refused a statement; ``rule`` is a short id, ``reason`` says why."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"refused by rule {rule}: {reason}", rule=rule)
        self.rule = rule
        self.reason = reason


@dataclass(frozen=True)
class GuardedQuery:
    """One statement that passed the guard, ready to run."""

    sql: str
    kind: str  # "select" | "values" | "explain" | "show" | "describe"


# --- the denylist -----------------------------------------------------------------------
# One list for both dialects: a name harmless in one engine is never needed in the other,
# and a merged list cannot be dodged by asking for the wrong dialect.

_FILES = "reads or lists files on the database server"
_LARGE_OBJECTS = "reads or writes server files and large objects"
_REMOTE = "opens connections to other databases"
_SETTINGS = "changes session settings"
_SIGNALS = "signals or controls server processes"
_LOCKS = "takes advisory locks that outlive the query"
_SLEEP = "sleeps and holds a connection"
_WAL = "controls WAL, backups or replication"
_XID = "assigns a transaction id (a write)"
_SEQUENCE = "advances a sequence (a write that rollback does not undo)"
_NOTIFY = "sends notifications to other sessions"
_RUNS_SQL = "runs an arbitrary SQL string, out of the guard's sight"
_STATS = "resets statistics (a write)"
_DUCK_FILES = "makes DuckDB read files, globs or URLs"
_DUCK_REMOTE = "makes DuckDB attach or scan another database"
_ENV = "reads the server's environment variables (secrets)"
_SECRETS = "reveals stored credentials"
_CHECKPOINT = "writes the database file"
_MEMORY = "scans raw memory pointers"
_LOGGING = "changes engine logging"
_HYPO = "changes the session's hypothetical indexes"
_GENERATES = "creates and fills tables"
_INDEX_WRITE = "writes to an index"
_ENGINE_SETTINGS = "changes engine settings or state"

_DENIED_NAMES: dict[str, str] = {
    # PostgreSQL
    "pg_stat_file": _FILES,
    "pg_logdir_ls": _FILES,
    "loread": _LARGE_OBJECTS,
    "lowrite": _LARGE_OBJECTS,
    "set_config": _SETTINGS,
    "pg_terminate_backend": _SIGNALS,
    "pg_cancel_backend": _SIGNALS,
    "pg_reload_conf": _SIGNALS,
    "pg_rotate_logfile": _SIGNALS,
    "pg_promote": _SIGNALS,
    "pg_log_backend_memory_contexts": _SIGNALS,
    "pg_switch_wal": _WAL,
    "pg_switch_xlog": _WAL,
    "pg_start_backup": _WAL,
    "pg_stop_backup": _WAL,
    "pg_backup_start": _WAL,
    "pg_backup_stop": _WAL,
    "pg_drop_replication_slot": _WAL,
    "pg_export_snapshot": _WAL,
    "pg_current_xact_id": _XID,
    "txid_current": _XID,
    "nextval": _SEQUENCE,
    "setval": _SEQUENCE,
    "pg_notify": _NOTIFY,
    "ts_stat": _RUNS_SQL,
    "ts_rewrite": _RUNS_SQL,
    "pg_stat_statements_reset": _STATS,
    "pg_import_system_collations": "creates collations (a write)",
    "pg_prewarm": "loads relations into shared buffers",
    "brin_summarize_range": _INDEX_WRITE,
    "brin_summarize_new_values": _INDEX_WRITE,
    "brin_desummarize_range": _INDEX_WRITE,
    "gin_clean_pending_list": _INDEX_WRITE,
    "pg_nextoid": "is for bootstrap and pg_upgrade only",
    "pg_stop_making_pinned_objects": "is for bootstrap and pg_upgrade only",
    "pg_extension_config_dump": "changes the catalog",
    "pg_rotate_logfile_old": _SIGNALS,
    "pg_stat_force_next_flush": _STATS,
    "pg_show_all_file_settings": _FILES,
    "pg_hba_file_rules": _FILES,
    "pg_ident_file_mappings": _FILES,
    "hypopg_create_index": _HYPO,
    "hypopg_drop_index": _HYPO,
    "hypopg_reset": _HYPO,
    "hypopg_hide_index": _HYPO,
    "hypopg_unhide_index": _HYPO,
    # DuckDB
    "glob": _DUCK_FILES,
    "sniff_csv": _DUCK_FILES,
    "getenv": _ENV,
    "query": _RUNS_SQL,
    "query_table": _RUNS_SQL,
    "json_execute_serialized_sql": _RUNS_SQL,
    "checkpoint": _CHECKPOINT,
    "force_checkpoint": _CHECKPOINT,
    "duckdb_secrets": _SECRETS,
    "which_secret": _SECRETS,
    "load_aws_credentials": _SECRETS,
    "arrow_scan": _MEMORY,
    "arrow_scan_dumb": _MEMORY,
    "pandas_scan": _MEMORY,
    "python_map_function": _MEMORY,
    "enable_logging": _LOGGING,
    "disable_logging": _LOGGING,
    "truncate_duckdb_logs": _LOGGING,
    "python_arrow_scan": _MEMORY,
    "copy_database": "copies a whole database",
    "import_database": "runs the statements of an exported database",
    "add_parquet_key": _ENGINE_SETTINGS,
    "verify_parallelism": _ENGINE_SETTINGS,
    "dbgen": _GENERATES,
    "dsdgen": _GENERATES,
    "install_extension": "installs extensions",
    "load_extension": "loads extensions",
}

_DENIED_PREFIXES: tuple[tuple[str, str], ...] = (
    # PostgreSQL
    ("pg_read_", _FILES),  # pg_read_file, pg_read_binary_file
    ("pg_ls_", _FILES),  # pg_ls_dir, pg_ls_logdir, pg_ls_waldir, pg_ls_tmpdir, ...
    ("pg_file_", _FILES),  # adminpack: pg_file_write, pg_file_rename, pg_file_unlink
    ("lo_", _LARGE_OBJECTS),  # lo_import, lo_export, lo_get, lo_put, lo_open, ...
    ("dblink", _REMOTE),  # dblink, dblink_exec, dblink_connect, ...
    ("postgres_", _REMOTE),  # postgres_fdw_* and DuckDB's postgres_scan/attach/query
    ("pg_advisory_", _LOCKS),
    ("pg_try_advisory_", _LOCKS),
    ("pg_sleep", _SLEEP),  # pg_sleep, pg_sleep_for, pg_sleep_until
    ("pg_wal_replay_", _WAL),
    ("pg_create_", _WAL),  # pg_create_restore_point, pg_create_*_replication_slot
    ("pg_copy_", _WAL),  # pg_copy_*_replication_slot
    ("pg_replication_", _WAL),
    ("pg_logical_", _WAL),  # pg_logical_emit_message, pg_logical_slot_get_changes
    ("pg_stat_reset", _STATS),
    ("pg_background_", _RUNS_SQL),
    ("query_to_xml", _RUNS_SQL),  # query_to_xml, query_to_xml_and_xmlschema
    ("query_to_xmlschema", _RUNS_SQL),
    ("cursor_to_xml", _RUNS_SQL),
    ("table_to_xml", _RUNS_SQL),
    ("schema_to_xml", _RUNS_SQL),
    ("database_to_xml", _RUNS_SQL),
    ("binary_upgrade_", "is for pg_upgrade only"),
    # DuckDB
    ("read_", _DUCK_FILES),  # read_csv(_auto), read_json*, read_ndjson*, read_text, ...
    ("parquet_", _DUCK_FILES),  # parquet_scan, parquet_metadata, parquet_schema, ...
    ("st_read", _DUCK_FILES),
    ("iceberg_", _DUCK_FILES),
    ("delta_", _DUCK_FILES),
    ("http_", _DUCK_FILES),
    ("sqlite_", _DUCK_REMOTE),
    ("mysql_", _DUCK_REMOTE),
    ("ducklake_", _DUCK_REMOTE),
    ("enable_", _ENGINE_SETTINGS),  # PRAGMA functions: enable_profiling, ...
    ("disable_", _ENGINE_SETTINGS),
    ("add_grammar_", _ENGINE_SETTINGS),
    ("remove_grammar_", _ENGINE_SETTINGS),
    ("register_external_", _ENGINE_SETTINGS),
    ("deregister_external_", _ENGINE_SETTINGS),
    ("create_external_", _ENGINE_SETTINGS),
    ("destroy_external_", _ENGINE_SETTINGS),
)

# sqlglot turns some function names into typed nodes whose written name is lost.
_DENIED_CLASSES: dict[str, str] = {
    "ReadCSV": _DUCK_FILES,
    "ReadParquet": _DUCK_FILES,
    "NextValueFor": _SEQUENCE,
}


def denied_function(name: str) -> str | None:
    """Why the function ``name`` (any case, optionally schema-qualified) is refused, if it is."""
    bare = name.rsplit(".", 1)[-1].strip('"').lower()
    if bare in _DENIED_NAMES:
        return _DENIED_NAMES[bare]
    for prefix, reason in _DENIED_PREFIXES:
        if bare.startswith(prefix):
            return reason
    return None


# --- an independent lexer ---------------------------------------------------------------
# Each character is classed: w = whitespace, c = comment, s = quoted (string, dollar string,
# quoted identifier), x = code. It follows PostgreSQL's scanner, which DuckDB shares:
# block comments nest, '' doubles a quote, E'' strings take backslash escapes, $tag$
# strings end at the same tag. Whether a backslash escapes in a plain '' string depends on
# the server's standard_conforming_strings, so the text is scanned both ways; if the two
# readings differ the statement is ambiguous and refused.

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_WHITESPACE = " \t\n\r\f\v"


def _ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_$" or ord(ch) >= 0x80


def _quoted_end(sql: str, start: int, quote: str, backslash: bool) -> int:
    """Index just past the closing quote of the literal opened at ``start``."""
    i, n = start + 1, len(sql)
    while i < n:
        ch = sql[i]
        if backslash and ch == "\\":
            i += 2
        elif ch == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return n


def _block_comment_end(sql: str, start: int) -> int:
    depth, i, n = 1, start + 2, len(sql)
    while i < n and depth:
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


def scan(sql: str, *, backslash_escapes: bool = False) -> str:
    """Class of each character of ``sql`` (w, c, s or x), read like PostgreSQL would."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in _WHITESPACE:
            end, cls = i + 1, "w"
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            end, cls = (n if newline < 0 else newline), "c"
        elif sql.startswith("/*", i):
            end, cls = _block_comment_end(sql, i), "c"
        elif ch == "'":
            e_string = i > 0 and sql[i - 1] in "eE" and (i < 2 or not _ident_char(sql[i - 2]))
            end, cls = _quoted_end(sql, i, "'", backslash_escapes or e_string), "s"
        elif ch == '"':
            end, cls = _quoted_end(sql, i, '"', False), "s"
        elif ch == "$" and (i == 0 or not _ident_char(sql[i - 1])) and _DOLLAR_TAG.match(sql, i):
            match = _DOLLAR_TAG.match(sql, i)
            assert match is not None
            close = sql.find(match.group(), match.end())
            end, cls = (n if close < 0 else close + len(match.group())), "s"
        else:
            end, cls = i + 1, "x"
        out.append(cls * (end - i))
        i = end
    return "".join(out)


# --- statement splitting and lexer agreement --------------------------------------------

_STRINGISH = {
    TokenType.STRING,
    TokenType.IDENTIFIER,
    TokenType.BYTE_STRING,
    TokenType.HEREDOC_STRING,
    TokenType.RAW_STRING,
    TokenType.NATIONAL_STRING,
    TokenType.UNICODE_STRING,
    TokenType.BIT_STRING,
    TokenType.HEX_STRING,
}

_COMMAND_WORDS = {"SHOW", "EXPLAIN"}

# Quoted identifiers can name functions ("pg_read_file"(...)); literals cannot.
_LITERALS = _STRINGISH - {TokenType.IDENTIFIER}


def _refuse(rule: str, reason: str) -> SqlRefused:
    return SqlRefused(rule, reason)


def _one_statement(sql: str) -> str:
    """The single statement in ``sql``, without a trailing ';' and trailing comments."""
    classes = scan(sql)
    if classes != scan(sql, backslash_escapes=True):
        raise _refuse(
            "ambiguous_sql",
            "a backslash before a quote reads differently depending on "
            "standard_conforming_strings; double the quote ('') or use E'...'",
        )
    code = [i for i, cls in enumerate(classes) if cls in "sx"]
    separators = [i for i in code if classes[i] == "x" and sql[i] == ";"]
    if len(separators) == len(code):
        raise _refuse("empty", "there is no statement to run")
    if len(separators) > 1 or (separators and separators[0] != code[-1]):
        where = separators[0]
        raise _refuse(
            "one_statement",
            f"only one statement may run; found another after ';' at offset {where}: "
            f"{_excerpt(sql[where + 1 :])}",
        )
    last = code[-2] if separators else code[-1]
    return sql[: last + 1].strip()


def _tokens(sql: str, dialect: str) -> list[Token]:
    """sqlglot's tokens for ``sql``, checked to read quotes and comments like the engine."""
    try:
        tokens: list[Token] = []
        rest = sqlglot.tokenize(sql, read=dialect)
        while len(rest) > 1 and rest[0].text.upper() in _COMMAND_WORDS:
            # sqlglot swallows the rest of SHOW/EXPLAIN as one string; tokenize it for real,
            # padded with spaces so the offsets still point into ``sql``
            head = rest[0].end + 1
            tokens.append(rest[0])
            rest = sqlglot.tokenize(" " * head + sql[head:], read=dialect)
        tokens += rest
    except Exception as error:  # sqlglot raises more than TokenError on odd input
        raise _refuse("parse_error", f"cannot tokenize: {_first_line(error)}") from None
    classes = scan(sql)
    covered = [False] * len(sql)
    for token in tokens:
        span = classes[token.start : token.end + 1]
        if token.token_type in _STRINGISH:
            # a prefix (E'', B'', U&'') may be read as code; the body must be quoted
            agrees = span.endswith("s") and set(span.lstrip("x")) == {"s"}
        else:
            agrees = span[:1] == "x" and span[-1:] == "x" and set(span) <= {"x", "w"}
        if not agrees:
            raise _refuse(
                "ambiguous_sql",
                f"quotes or comments near {_excerpt(sql[token.start :])} could be read "
                "differently by the database",
            )
        for i in range(token.start, token.end + 1):
            covered[i] = True
    for i, cls in enumerate(classes):
        if cls in "sx" and not covered[i]:
            raise _refuse(
                "ambiguous_sql",
                f"text near {_excerpt(sql[i:])} is hidden from the guard but not from the database",
            )
    for before, token in zip(tokens, tokens[1:], strict=False):
        if before.text == "&" and token.token_type == TokenType.IDENTIFIER:
            # U&"\0070g_read_file" spells any name through escapes
            raise _refuse("ambiguous_sql", 'U&"..." escaped identifiers are not allowed')
    return tokens


def _called_names(tokens: list[Token]) -> Iterator[tuple[str, int]]:
    """Every ``name(`` in the token stream, with the token's offset."""
    for token, after in zip(tokens, tokens[1:], strict=False):
        if after.token_type == TokenType.L_PAREN and token.token_type not in _LITERALS:
            yield token.text, token.start


# --- the tree walk ----------------------------------------------------------------------


def _classes(*names: str) -> tuple[type[exp.Expression], ...]:
    # getattr: a class missing from a future sqlglot must not break the guard's import
    return tuple(getattr(exp, name) for name in names if hasattr(exp, name))


_STATEMENTS = _classes(
    "DML",
    "Insert",
    "Update",
    "Delete",
    "Merge",
    "Copy",
    "Export",
    "LoadData",
    "Create",
    "Drop",
    "Alter",
    "TruncateTable",
    "Command",
    "Set",
    "Use",
    "Transaction",
    "Commit",
    "Rollback",
    "Grant",
    "Revoke",
    "Attach",
    "Detach",
    "Install",
    "Pragma",
    "Kill",
    "Comment",
    "Declare",
    "Analyze",
    "Cache",
    "Uncache",
    "Refresh",
    "Put",
    "Get",
)

_TOP_LEVEL: dict[type[exp.Expression], str] = {
    exp.Select: "select",
    exp.SetOperation: "select",  # UNION / INTERSECT / EXCEPT
    exp.Subquery: "select",
    exp.Values: "values",
}

_DUCKDB_DESCRIBE = _classes("Describe", "Summarize")

# A quoted table name like '/etc/passwd' or "data.csv" makes DuckDB read the file, and so
# does an unquoted one whose last part is a file extension: FROM secrets.csv is a file in
# the server's working directory, not table csv in schema secrets.
_PATHLIKE = re.compile(r"[./\\*?~:\[\]{}]")
_FILE_EXTENSIONS = frozenset(
    "csv tsv txt json jsonl ndjson parquet arrow avro xlsx gz zst duckdb sqlite".split()
)


def _kind_of(tree: exp.Expr, dialect: str) -> str:
    for cls, kind in _TOP_LEVEL.items():
        if isinstance(tree, cls):
            return kind
    if isinstance(tree, _DUCKDB_DESCRIBE):
        if dialect == "duckdb":
            return "describe"
        raise _refuse(
            "statement_kind",
            "PostgreSQL has no DESCRIBE; query information_schema.columns instead",
        )
    raise _refuse("statement_kind", f"{_statement_name(tree)} is not a read-only query")


def _statement_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return node.key.upper()


def _function_names(node: exp.Func) -> list[str]:
    if isinstance(node, exp.Anonymous) or type(node).__name__ == "AnonymousAggFunc":
        return [node.name]
    return [name.lower() for name in type(node).sql_names()]


def _check_tree(tree: exp.Expr, dialect: str) -> None:
    for node in tree.walk():
        if node is not tree and isinstance(node, _STATEMENTS):
            name = _statement_name(node)
            if node.find_ancestor(exp.CTE) is not None:
                raise _refuse(
                    "writable_cte", f"a WITH clause may not hold {name}: queries only read"
                )
            raise _refuse("statement_kind", f"{name} may not appear inside a query")
        if isinstance(node, exp.Into):
            raise _refuse(
                "select_into", f"SELECT ... INTO {node.this} creates a table; queries only read"
            )
        if isinstance(node, exp.Lock):
            raise _refuse("row_lock", f"{_lock_clause(node)} locks rows; queries only read")
        if isinstance(node, exp.Func):
            _check_function(node)
        if isinstance(node, exp.Table):
            _check_table(node, dialect)


def _lock_clause(node: exp.Lock) -> str:
    if node.args.get("update"):
        return "FOR NO KEY UPDATE" if node.args.get("key") else "FOR UPDATE"
    return "FOR KEY SHARE" if node.args.get("key") else "FOR SHARE"


def _check_function(node: exp.Func) -> None:
    in_from = isinstance(node.parent, (exp.Table, exp.Lateral))
    rule = "denied_table_function" if in_from else "denied_function"
    cls_reason = _DENIED_CLASSES.get(type(node).__name__)
    if cls_reason:
        raise _refuse(rule, f"{type(node).sql_names()[0].lower()} {cls_reason}")
    for name in _function_names(node):
        reason = denied_function(name)
        if reason:
            raise _refuse(rule, f"{name.lower()} {reason}")


def _check_table(node: exp.Table, dialect: str) -> None:
    ident = node.this
    if not isinstance(ident, exp.Identifier):
        return
    if ident.quoted and _PATHLIKE.search(ident.name):
        raise _refuse(
            "file_table",
            f"{ident.name!r} as a table name looks like a file path or URL, which DuckDB "
            "would read from disk",
        )
    if dialect == "duckdb" and node.db and ident.name.lower() in _FILE_EXTENSIONS:
        raise _refuse(
            "file_table",
            f"{node.sql()} as a table name looks like a file name, which DuckDB would read "
            "from disk",
        )


# --- statement forms --------------------------------------------------------------------

_START_WORDS = {"SELECT", "WITH", "VALUES", "TABLE", "FROM", "(", "EXPLAIN", "SHOW"}
_DUCKDB_START_WORDS = {"DESCRIBE", "DESC", "SUMMARIZE"}
_EXPLAIN_WORDS = {
    "ANALYZE",
    "ANALYSE",
    "VERBOSE",
    "COSTS",
    "SETTINGS",
    "GENERIC_PLAN",
    "BUFFERS",
    "WAL",
    "TIMING",
    "SUMMARY",
    "FORMAT",
    "TEXT",
    "XML",
    "JSON",
    "YAML",
    "HTML",
    "GRAPHVIZ",
    "TRUE",
    "FALSE",
    "ON",
    "OFF",
    "0",
    "1",
    ",",
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _guard_statement(sql: str, dialect: str, *, inner: bool) -> GuardedQuery:
    statement = _one_statement(sql)
    first = _first_word(statement)
    allowed = _START_WORDS | (_DUCKDB_START_WORDS if dialect == "duckdb" else set())
    if inner:
        allowed = allowed - {"EXPLAIN", "SHOW", "DESCRIBE", "DESC", "SUMMARIZE"}
    if first not in allowed:
        raise _refuse("statement_kind", f"{first} is not a read-only query")
    tokens = _tokens(statement, dialect)
    if first == "EXPLAIN":
        return _guard_explain(statement, tokens, dialect)
    if first == "SHOW":
        return _guard_show(statement, tokens)
    tree = _parse(statement, dialect)
    kind = _kind_of(tree, dialect)
    _check_tree(tree, dialect)
    # backstop: a call the parser reshaped or hid is still a call in the token stream
    for name, offset in _called_names(tokens):
        reason = denied_function(name)
        if reason:
            raise _refuse("denied_function", f"{name.lower()} {reason} (at offset {offset})")
    return GuardedQuery(statement, kind)


def _first_word(statement: str) -> str:
    """The statement's first keyword (or '('), found by the independent lexer."""
    classes = scan(statement)
    start = min((classes.find(cls) for cls in "sx" if cls in classes), default=0)
    word = _NAME.match(statement, start)
    return word.group().upper() if word else statement[start : start + 1]


def _parse(statement: str, dialect: str) -> exp.Expr:
    try:
        trees = [tree for tree in sqlglot.parse(statement, read=dialect) if tree is not None]
    except Exception as error:  # ParseError, and IndexError etc. on odd input
        raise _refuse("parse_error", f"cannot parse: {_first_line(error)}") from None
    trees = [tree for tree in trees if not isinstance(tree, exp.Semicolon)]
    if len(trees) != 1:
        raise _refuse("one_statement", f"expected one statement, found {len(trees)}")
    return trees[0]


def _guard_explain(statement: str, tokens: list[Token], dialect: str) -> GuardedQuery:
    """EXPLAIN [ANALYZE] [VERBOSE] q, or EXPLAIN (option, ...) q, where q passes alone."""
    i = 1
    if i < len(tokens) and tokens[i].token_type == TokenType.L_PAREN:
        i += 1
        while i < len(tokens) and tokens[i].token_type != TokenType.R_PAREN:
            if tokens[i].text.upper() not in _EXPLAIN_WORDS:
                raise _refuse("statement_kind", f"unknown EXPLAIN option {tokens[i].text}")
            i += 1
        i += 1
    else:
        while i < len(tokens) and tokens[i].text.upper() in {"ANALYZE", "ANALYSE", "VERBOSE"}:
            i += 1
    if i >= len(tokens):
        raise _refuse("statement_kind", "EXPLAIN needs a query to explain")
    _guard_statement(statement[tokens[i].start :], dialect, inner=True)
    return GuardedQuery(statement, "explain")


def _guard_show(statement: str, tokens: list[Token]) -> GuardedQuery:
    """SHOW followed by a few plain names: a setting, TABLES, ALL TABLES, a table."""
    rest = tokens[1:]
    if not rest or len(rest) > 6:
        raise _refuse("statement_kind", "SHOW takes a setting or table name")
    if len(rest) > 2 and rest[-2].token_type == TokenType.DOT:
        if rest[-1].text.lower() in _FILE_EXTENSIONS:
            raise _refuse(
                "file_table",
                f"{statement[rest[0].start :]} looks like a file, which DuckDB would read",
            )
    for token in rest:
        if token.token_type == TokenType.DOT:
            continue
        if token.token_type == TokenType.IDENTIFIER:
            if _PATHLIKE.search(token.text):
                raise _refuse(
                    "file_table", f"{token.text!r} looks like a file path, which DuckDB would read"
                )
            continue
        if token.token_type in _LITERALS or not _NAME.fullmatch(token.text):
            raise _refuse(
                "statement_kind",
                f"SHOW takes plain names only, not {_excerpt(token.text)}",
            )
    return GuardedQuery(statement, "show")


# --- entry point ------------------------------------------------------------------------


def _guard_uncached(sql: str, dialect: str) -> GuardedQuery:
    """Check that ``sql`` is exactly one read-only query; raise SqlRefused otherwise."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {DIALECTS}")
    if len(sql) > MAX_SQL_CHARS:
        raise _refuse(
            "too_long", f"the SQL is {len(sql):,} characters; the limit is {MAX_SQL_CHARS:,}"
        )
    if not sql.strip():
        raise _refuse("empty", "there is no statement to run")
    if "\x00" in sql:
        # C drivers may cut the text at a NUL, so the engine would see something else
        raise _refuse("parse_error", "the SQL contains a NUL character")
    return _guard_statement(sql, dialect, inner=False)


def _excerpt(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


__all__ = ["GuardedQuery", "SqlRefused", "denied_function", "guard_sql", "scan"]


@functools.lru_cache(maxsize=2048)
def _guard_cached(sql: str, dialect: str) -> GuardedQuery | SqlRefused:
    try:
        return _guard_uncached(sql, dialect)
    except SqlRefused as exc:
        return exc


def guard_sql(sql: str, dialect: str) -> GuardedQuery:
    """Check ``sql`` against every rule; raise SqlRefused naming the rule that refused it.

    Verdicts are cached by text: an agent repeats its queries, and the guard is pure.
    """
    verdict = _guard_cached(sql, dialect)
    if isinstance(verdict, SqlRefused):
        raise SqlRefused(verdict.rule, verdict.reason)
    return verdict
