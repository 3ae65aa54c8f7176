"""Fixtures as patches (docs/contributing.md, "Submission fixtures").

A fixture that is the stub with some methods replaced holds only what differs: its own
``class GMM1D:`` with the replaced methods, plus the imports and top-level definitions they
need. ``splice`` merges it by AST into TODAY's stub (gmm1d.py), so a fixture never holds a
stale copy of the starter; ``to_patch`` turns a stub-shaped whole file into such a patch.

What a patch may hold, and where each piece goes in the stub's source (text spliced at the
line ranges the AST gives, so comments and formatting of both sides survive):

- a module docstring: the fixture's own description; not copied (the stub's stays);
- imports: added after the stub's last import, unless the stub has the same one;
- top-level definitions (``def``, ``class``, ``NAME = ...``): one the stub has by that name
  replaces it where it stands; a new one goes just before ``class GMM1D``;
- ``class GMM1D:`` holding methods only: each replaces the stub's method of that name (a
  property's getter and setter together); a method the stub lacks must be marked
  ``@added`` (the mark is removed), so a patch written against an older stub fails loudly
  instead of adding dead code;
- ``if __name__ == "__main__":`` blocks: appended (never run by the grader).

Anything else (code that runs at import) makes a whole-file fixture.
"""

import ast
from pathlib import Path

STUB_PATH = Path(__file__).resolve().parent.parent / "gmm1d.py"
CLASS = "GMM1D"
ADDED = "added"  # the decorator marking a method the stub lacks


class PatchError(ValueError):
    """A patch that does not fit the stub, or a file that cannot be written as a patch."""


def is_docstring(node):
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def is_main_block(node):
    return isinstance(node, ast.If) and ast.dump(node.test) == ast.dump(
        ast.parse('__name__ == "__main__"', mode="eval").body
    )


def defined_name(node):
    """The name a top-level statement defines, or None."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and len(targets) == 1:
        return targets[0].id if isinstance(targets[0], ast.Name) else None
    return None


def _is_mark(decorator):
    return isinstance(decorator, ast.Name) and decorator.id == ADDED


def _is_added(node):
    return any(_is_mark(d) for d in node.decorator_list)


def span(node, lines):
    """(first, end) 0-based line slice of a statement: its decorators, and the comment lines
    right above it."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
    while first > 0 and lines[first - 1].strip().startswith("#"):
        first -= 1
    return first, node.end_lineno


def source_of(node, lines, drop=()):
    """The source of a statement (see span), without the lines of the nodes in ``drop``."""
    first, end = span(node, lines)
    gone = {i for d in drop for i in range(d.lineno - 1, d.end_lineno)}
    return "".join(line for i, line in enumerate(lines[first:end], first) if i not in gone)


def the_class(tree, what):
    found = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == CLASS]
    if len(found) > 1:
        raise PatchError(f"{what} defines class {CLASS} {len(found)} times")
    return found[0] if found else None


def methods_of(cls, what):
    """name -> [FunctionDef, ...] of a class holding methods only (and a docstring)."""
    if cls.bases or cls.keywords or cls.decorator_list:
        raise PatchError(f"{what}: class {CLASS} has bases or decorators; keep the whole file")
    found = {}
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.setdefault(node.name, []).append(node)
        elif not (node is cls.body[0] and is_docstring(node)):
            raise PatchError(
                f"{what} line {node.lineno}: class {CLASS} holds a statement that is not a "
                "method; keep the whole file"
            )
    return found


def read_stub(stub_text):
    text = STUB_PATH.read_text(encoding="utf-8") if stub_text is None else stub_text
    return text, ast.parse(text)


def splice(patch_text, stub_text=None):
    """The full upload: ``patch_text`` merged into the stub (today's gmm1d.py by default)."""
    stub_text, stub = read_stub(stub_text)
    try:
        patch = ast.parse(patch_text)
    except SyntaxError as exc:
        raise PatchError(f"the patch does not parse: {exc}") from exc
    stub_lines, lines = stub_text.splitlines(keepends=True), patch_text.splitlines(keepends=True)
    stub_class = the_class(stub, "the stub")
    the_class(patch, "the patch")  # at most one
    stub_top = {defined_name(n): n for n in stub.body if defined_name(n) and n is not stub_class}
    stub_imports = [n for n in stub.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    last_import = max(n.end_lineno for n in stub_imports)
    stub_imports = {ast.dump(n) for n in stub_imports}
    edits, imports, helpers, mains = [], [], [], []
    for node in patch.body:
        name = defined_name(node)
        if node is patch.body[0] and is_docstring(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if ast.dump(node) not in stub_imports:
                imports.append(source_of(node, lines))
        elif is_main_block(node):
            mains.append(source_of(node, lines))
        elif isinstance(node, ast.ClassDef) and node.name == CLASS:
            edits += _class_edits(node, lines, stub_class, stub_lines)
        elif name == CLASS:
            raise PatchError(f"patch line {node.lineno}: {CLASS} must be a class statement")
        elif name in stub_top:
            edits.append((*span(stub_top[name], stub_lines), source_of(node, lines)))
        elif name:
            helpers.append(source_of(node, lines))
        else:
            raise PatchError(
                f"patch line {node.lineno}: a {type(node).__name__} runs at import; a patch "
                f"holds imports, definitions, class {CLASS} and __main__ blocks only"
            )
    edits.append((last_import, last_import, "".join(imports)))
    class_first = span(stub_class, stub_lines)[0]
    edits.append((class_first, class_first, "".join(h + "\n\n" for h in helpers)))
    edits.append((len(stub_lines), len(stub_lines), "".join("\n\n" + m for m in mains)))
    return _apply(stub_lines, edits)


def _class_edits(cls, lines, stub_class, stub_lines):
    """Edits of the stub's lines that put the patch's methods into the stub's class."""
    stub_methods = methods_of(stub_class, "the stub")
    edits, added = [], []
    for name, nodes in methods_of(cls, "the patch").items():
        marked = [_is_added(n) for n in nodes]
        texts = [source_of(n, lines, [d for d in n.decorator_list if _is_mark(d)]) for n in nodes]
        if name in stub_methods:
            if any(marked):
                raise PatchError(f"{CLASS}.{name} is marked @{ADDED}, but the stub has it")
            first = span(stub_methods[name][0], stub_lines)[0]
            edits.append((first, stub_methods[name][-1].end_lineno, "\n".join(texts)))
        elif all(marked):
            added += texts
        else:
            raise PatchError(
                f"the stub's class {CLASS} has no method {name!r} to replace (mark a method "
                f"the stub lacks @{ADDED})"
            )
    end = stub_class.end_lineno
    return edits + [(end, end, "".join("\n" + t for t in added))]


def _apply(stub_lines, edits):
    """The stub's lines with each (first, end, text) edit: lines[first:end] become text."""
    edits = sorted(edits, key=lambda e: (e[0], e[1]))
    for (_, end), (first, _, _) in zip([e[:2] for e in edits], edits[1:]):
        if first < end:
            raise PatchError("the patch replaces one part of the stub twice")
    out = list(stub_lines)
    for first, end, text in reversed(edits):
        out[first:end] = [text]
    result = "".join(out)
    try:
        ast.parse(result)
    except SyntaxError as exc:
        raise PatchError(f"the spliced file does not parse: {exc}") from exc
    return result


def normalised(node):
    """ast.dump of a statement with every docstring left out (they change no behaviour)."""
    node = ast.parse(ast.unparse(node)).body[0]  # a copy
    for inner in ast.walk(node):
        body = getattr(inner, "body", None)
        is_def = isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        if is_def and body and is_docstring(body[0]):
            inner.body = body[1:] or [ast.Pass()]
    return ast.dump(node)
