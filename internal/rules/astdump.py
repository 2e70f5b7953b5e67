"""astdump: posml's Python parser helper (embedded in internal/rules).

posml runs it as `python3 -I -S -c <this file>` with the project root as the
working directory. It never imports or runs project code: it only reads files
and parses them with the ast module.

Protocol, one JSON document per line:
  1. it prints {"python": "3.11.7"} once it is ready;
  2. for each line {"path": "src/train.py"} read from stdin it prints the
     facts of that file (see dump); it stops at the end of stdin.

Only the standard library, and only syntax and ast nodes of Python 3.7.
"""
import ast
import json
import sys
import warnings


def dotted(node):
    """Return "a.b.c" for the expression a.b.c, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        if base is not None:
            return base + "." + node.attr
    return None


def string_value(node):
    """Return the value of a string literal, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if sys.version_info < (3, 8) and isinstance(node, ast.Str):
        return node.s
    return None


def is_name(node, name):
    return isinstance(node, ast.Name) and node.id == name


def is_src_home_value(node):
    """os.path.dirname(os.path.realpath(__file__)), or abspath."""
    if not (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords):
        return False
    if dotted(node.func) not in ("os.path.dirname", "dirname"):
        return False
    inner = node.args[0]
    if not (isinstance(inner, ast.Call) and len(inner.args) == 1 and not inner.keywords):
        return False
    if dotted(inner.func) not in ("os.path.realpath", "os.path.abspath", "realpath", "abspath"):
        return False
    return is_name(inner.args[0], "__file__")


def is_src_home_assign(stmt):
    if isinstance(stmt, ast.Assign):
        return (len(stmt.targets) == 1 and is_name(stmt.targets[0], "SRC_HOME")
                and is_src_home_value(stmt.value))
    if isinstance(stmt, ast.AnnAssign):
        return is_name(stmt.target, "SRC_HOME") and stmt.value is not None and is_src_home_value(stmt.value)
    return False


def is_path_call(stmt):
    """sys.path.append(SRC_HOME) or sys.path.insert(<index>, SRC_HOME)."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    call = stmt.value
    if call.keywords:
        return False
    fn = dotted(call.func)
    if fn == "sys.path.append":
        return len(call.args) == 1 and is_name(call.args[0], "SRC_HOME")
    if fn == "sys.path.insert":
        return len(call.args) == 2 and is_name(call.args[1], "SRC_HOME")
    return False


def is_path_add(stmt):
    """`if SRC_HOME not in sys.path: <path call>`, or the bare path call."""
    if is_path_call(stmt):
        return True
    if not isinstance(stmt, ast.If):
        return False
    test = stmt.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.NotIn)):
        return False
    if not (is_name(test.left, "SRC_HOME") and dotted(test.comparators[0]) == "sys.path"):
        return False
    return any(is_path_call(s) for s in stmt.body)


def is_main_guard(stmt):
    """if __name__ == "__main__": (either way round)."""
    if not isinstance(stmt, ast.If):
        return False
    test = stmt.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    left, right = test.left, test.comparators[0]
    return ((is_name(left, "__name__") and string_value(right) == "__main__")
            or (is_name(right, "__name__") and string_value(left) == "__main__"))


class Source(object):
    def __init__(self, data):
        self.lines = data.splitlines()

    def col(self, node):
        """1-based column in characters (ast gives a 0-based UTF-8 offset)."""
        off = node.col_offset
        if 0 < node.lineno <= len(self.lines):
            return len(self.lines[node.lineno - 1][:off].decode("utf-8", "replace")) + 1
        return off + 1

    def pos(self, node):
        return {"line": node.lineno, "col": self.col(node)}


def imports(tree, src):
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            item = src.pos(node)
            item.update({"from": False, "level": 0, "module": "",
                         "names": [[a.name, a.asname or ""] for a in node.names]})
            out.append(item)
        elif isinstance(node, ast.ImportFrom):
            item = src.pos(node)
            item.update({"from": True, "level": node.level or 0, "module": node.module or "",
                         "names": [[a.name, a.asname or ""] for a in node.names]})
            out.append(item)
    out.sort(key=lambda i: (i["line"], i["col"]))
    return out


def defs(body, src):
    out = []
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            item = src.pos(stmt)
            kind = "async" if isinstance(stmt, ast.AsyncFunctionDef) else "def"
            item.update({"name": stmt.name, "kind": kind,
                         "kwarg": stmt.args.kwarg.arg if stmt.args.kwarg else ""})
            out.append(item)
        elif isinstance(stmt, ast.ClassDef):
            item = src.pos(stmt)
            item.update({"name": stmt.name, "kind": "class", "kwarg": ""})
            out.append(item)
    return out


def header(body):
    assign = path = 0
    for stmt in body:
        if not assign:
            if is_src_home_assign(stmt):
                assign = stmt.lineno
        elif is_path_add(stmt):
            path = stmt.lineno
            break
    return {"assign": assign, "path": path}


def guard(body, src):
    """The last top-level main guard, with the calls in its body."""
    idx = [i for i, stmt in enumerate(body) if is_main_guard(stmt)]
    if not idx:
        return None
    i = idx[-1]
    stmt = body[i]
    out = src.pos(stmt)
    out["next"] = body[i + 1].lineno if i + 1 < len(body) else 0
    calls = []
    for s in stmt.body:
        for node in ast.walk(s):
            if isinstance(node, ast.Call):
                name = dotted(node.func)
                if name:
                    call = src.pos(node)
                    call["name"] = name
                    calls.append(call)
    calls.sort(key=lambda c: (c["line"], c["col"]))
    out["calls"] = calls
    return out


def dump(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except (IOError, OSError) as e:
        return {"error": e.strerror or str(e)}
    src = Source(data)
    facts = {"lines": len(src.lines)}
    try:
        tree = ast.parse(data, filename=path)
    except SyntaxError as e:
        facts["syntax"] = {"line": e.lineno or 0, "col": e.offset or 0, "msg": e.msg or str(e)}
        return facts
    except ValueError as e:  # "source code string cannot contain null bytes" before 3.12
        facts["syntax"] = {"line": 0, "col": 0, "msg": str(e)}
        return facts
    facts["imports"] = imports(tree, src)
    facts["defs"] = defs(tree.body, src)
    facts["header"] = header(tree.body)
    facts["guard"] = guard(tree.body, src)
    facts["last"] = tree.body[-1].lineno if tree.body else 0
    return facts


def main():
    warnings.simplefilter("ignore")  # SyntaxWarning and friends are not ours to report
    stdin = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
    out = sys.stdout

    def send(doc):
        out.write(json.dumps(doc) + "\n")
        out.flush()

    send({"python": "%d.%d.%d" % tuple(sys.version_info[:3])})
    while True:
        line = stdin.readline()
        if not line:
            return
        if isinstance(line, bytes):
            line = line.decode("utf-8")
        line = line.strip()
        if not line:
            continue
        try:
            facts = dump(json.loads(line)["path"])
        except Exception as e:  # the caller waits for one line per request: always answer
            facts = {"error": "%s: %s" % (type(e).__name__, e)}
        send(facts)


main()
