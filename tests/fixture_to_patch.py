"""A stub-shaped whole-file fixture written as a patch (tests/fixture_patches.py): what
``python -m tests.submission_fixtures --to-patch PATH`` does.

The file is compared with the stub by AST, docstrings left out: the patch keeps its own
docstring paragraphs, the imports the stub lacks, the methods of ``GMM1D`` that differ (or
that the stub lacks, marked ``@added``), the top-level definitions that are new or differ
and that the class, a new definition or a ``__main__`` block uses, and its own ``__main__``
blocks. A changed stub definition nothing uses (an old stub's self-check) is dropped, and
said so. A file that is not stub-shaped (no class GMM1D, a class with bases, a stub method
deleted, code that runs at import, a syntax error) raises PatchError: it stays whole.
"""

import ast
import re

from tests.fixture_patches import (
    ADDED,
    CLASS,
    PatchError,
    defined_name,
    is_docstring,
    is_main_block,
    methods_of,
    normalised,
    read_stub,
    source_of,
    span,
    splice,
    the_class,
)

_DOCSTRING = re.compile(r'([rRuU]?)("""|\'\'\')(.*)\2\s*', re.S)


def to_patch(text, stub_text=None):
    """(patch text, notes): ``text`` as a patch of the stub (today's gmm1d.py by default)."""
    stub_text, stub = read_stub(stub_text)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise PatchError(f"it does not parse ({exc.msg}, line {exc.lineno})") from exc
    lines = text.splitlines(keepends=True)
    cls = the_class(tree, "the file")
    if cls is None:
        raise PatchError(f"it has no class {CLASS}")
    mine, stubs = methods_of(cls, "the file"), methods_of(the_class(stub, "the stub"), "the stub")
    missing = [name for name in stubs if name not in mine]
    if missing:
        raise PatchError(f"its class {CLASS} has no {', '.join(missing)}, which the stub has")
    stub_named = {defined_name(n): n for n in stub.body if defined_name(n)}
    imports, named, mains = _top_level(tree, cls, stub)
    differs = {
        name
        for name, node in named.items()
        if name not in stub_named or normalised(node) != normalised(stub_named[name])
    }
    _refuse_own_calls(named, differs)
    used = _used(named, [cls, *(named[n] for n in named if n not in stub_named), *mains])
    kept = [n for n in named if n in differs and (n in used or n not in stub_named)]
    notes = [
        f"dropped {name}: it differs from the stub's, but nothing of the class, the new "
        "definitions or a __main__ block uses it"
        for name in sorted(differs - set(kept))
    ]
    methods = [
        nodes
        for name, nodes in mine.items()
        if name not in stubs or list(map(normalised, nodes)) != list(map(normalised, stubs[name]))
    ]
    parts = ["".join(source_of(n, lines) for n in imports)] if imports else []
    parts += [source_of(named[n], lines) for n in kept]
    if methods:
        stub_lines = stub_text.splitlines(keepends=True)
        texts = [
            _method_text(n, lines, stubs.get(n.name, []), stub_lines)
            for nodes in methods
            for n in nodes
        ]
        parts.append(f"class {CLASS}:\n" + "\n".join(texts))
    parts += [source_of(n, lines) for n in mains]
    doc = _own_docstring(tree, lines, stub)
    gap = "\n" if imports else "\n\n"  # PEP 8: a blank line before imports, two before a def
    patch = (doc + gap if doc and parts else doc or "") + "\n\n".join(parts)
    _check_same(tree, ast.parse(splice(patch, stub_text)), used, mains)
    return patch, notes


def _top_level(tree, cls, stub):
    """(imports the stub lacks, name -> definition, own __main__ blocks) of the file; raise
    PatchError for any other statement the stub does not have (code that runs at import)."""
    stub_imports = {ast.dump(n) for n in stub.body if isinstance(n, (ast.Import, ast.ImportFrom))}
    stub_statements = {normalised(n) for n in stub.body}
    imports, named, mains = [], {}, []
    for node in tree.body:
        name = defined_name(node)
        if node is cls or (node is tree.body[0] and is_docstring(node)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports += [node] if ast.dump(node) not in stub_imports else []
        elif name and name != CLASS:
            if name in named:
                raise PatchError(f"line {node.lineno}: it defines {name} twice")
            named[name] = node
        elif normalised(node) in stub_statements:
            continue  # the stub's own statement, say its __main__ block
        elif is_main_block(node):
            mains.append(node)
        else:
            raise PatchError(f"line {node.lineno}: a {type(node).__name__} runs at import")
    return imports, named, mains


def _refuse_own_calls(named, differs):
    """PatchError for a new or changed ``NAME = f(...)`` that calls the file's own ``f``: its
    code runs at import (``np.array(...)`` and the like are constants)."""
    for name in differs:
        node = named[name]
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            own = [
                c.func.id
                for c in ast.walk(node.value)
                if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in named
            ]
            if own:
                raise PatchError(
                    f"line {node.lineno}: {name} = {own[0]}(...) runs its code at import"
                )


def _used(named, roots):
    """The top-level names of ``named`` that ``roots`` use, directly or through each other."""
    seen, frontier = set(), list(roots)
    while frontier:
        for node in ast.walk(frontier.pop()):
            if isinstance(node, ast.Name) and node.id in named and node.id not in seen:
                seen.add(node.id)
                frontier.append(named[node.id])
    return seen


def _method_text(node, lines, stub_nodes, stub_lines):
    """A method's source without what it copies of the stub's method of that name (its
    docstring, its comment lines: the TODO notes); marked ``@added`` when the stub lacks it."""
    first, end = span(node, lines)
    rows = lines[first:end]
    gone = set()
    if is_docstring(node.body[0]) and ast.get_docstring(node, clean=False) in {
        ast.get_docstring(n, clean=False) for n in stub_nodes
    }:
        gone |= set(range(node.body[0].lineno - 1 - first, node.body[0].end_lineno - first))
    copied = {row.strip() for n in stub_nodes for row in stub_lines[slice(*span(n, stub_lines))]}
    gone |= {
        i for i, row in enumerate(rows) if row.lstrip().startswith("#") and row.strip() in copied
    }
    if stub_nodes:
        return "".join(row for i, row in enumerate(rows) if i not in gone)
    at = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1 - first
    indent = rows[at][: len(rows[at]) - len(rows[at].lstrip())]
    return "".join(rows[:at] + [f"{indent}@{ADDED}\n"] + rows[at:])


def _own_docstring(tree, lines, stub):
    """The file's module docstring without the paragraphs it shares with the stub's; None
    when nothing of its own is left."""
    if not (tree.body and is_docstring(tree.body[0])):
        return None
    node = tree.body[0]
    raw = "".join(lines[node.lineno - 1 : node.end_lineno])
    match = _DOCSTRING.fullmatch(raw)
    if node.col_offset or not match:
        return raw
    prefix, quotes, body = match.groups()
    stub_doc = " ".join((ast.get_docstring(stub, clean=False) or "").split())
    own = [
        paragraph.strip("\n")
        for paragraph in re.split(r"\n\s*\n", body)
        if " ".join(paragraph.split()).rstrip(".") not in stub_doc
    ]
    if not own:
        return None
    if len(own) == 1 and "\n" not in own[0] and len(own[0]) <= 94:
        return f"{prefix}{quotes}{own[0]}{quotes}\n"
    joined = "\n\n".join(own)
    return f"{prefix}{quotes}{joined}\n{quotes}\n"


def _check_same(whole, spliced, used, mains):
    """Raise PatchError unless the spliced file has the whole file's methods, imports, used
    top-level definitions and __main__ blocks (docstrings aside)."""
    problems = []
    for name, nodes in methods_of(the_class(whole, "the file"), "the file").items():
        got = methods_of(the_class(spliced, "the spliced file"), "the spliced file").get(name)
        if list(map(normalised, nodes)) != list(map(normalised, got or [])):
            problems.append(f"{CLASS}.{name}")
    tops = {defined_name(n): normalised(n) for n in spliced.body if defined_name(n)}
    for node in whole.body:
        name = defined_name(node)
        if name in used and tops.get(name) != normalised(node):
            problems.append(name)
    statements = {normalised(n) for n in spliced.body}
    imports = [n for n in whole.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    problems += [ast.unparse(n) for n in [*imports, *mains] if normalised(n) not in statements]
    if problems:
        raise PatchError(f"the spliced patch differs from the file in {', '.join(problems)}")
