#!/usr/bin/env python3
"""Fails if a module of a tree imports from a module declared after it in
the tree's lib.rs: the declaration order there is the crate's layering,
lowest first, so this also rules out import circles.

The trees are the crate's src/ and the bench harness's benches/src/, or
those named on the command line. Binaries (bin/, main.rs) are crates of
their own and are not checked.

An import is any `crate::name` in code (comments, doc comments and the
unit tests at the end of a file, `#[cfg(test)] mod tests`, are skipped). A name re-exported at the root (`pub use module::{Name}`) counts
as an import of that module.

Usage: python3 .ci/layers.py [tree ...]   (from the repository root)
"""
import pathlib
import re
import sys


def code(text):
    """The text without its unit tests and comments (line comments; the
    crates have no block comments)."""
    text = re.split(r"^#\[cfg\(test\)\]\s*\nmod tests", text, flags=re.M)[0]
    return "\n".join(re.sub(r"//.*", "", line) for line in text.splitlines())


def check(src):
    """Prints one line for the tree `src` (and its violations); returns
    whether its layering holds."""
    lib = (src / "lib.rs").read_text()
    order = re.findall(r"^(?:pub )?mod (\w+);", lib, re.M)
    rank = {m: i for i, m in enumerate(order)}

    # Root re-exports: `pub use module::{A, B};` or `pub use module::A;`.
    reexports = {}
    for module, names in re.findall(r"^pub use (\w+)::\{?([^};]*)\}?;", lib, re.M | re.S):
        for name in re.split(r"[,\s]+", names):
            if name:
                reexports[name.split(" as ")[-1]] = module

    problems = []
    edges = set()
    for path in sorted(src.rglob("*.rs")):
        rel = path.relative_to(src)
        if rel.name == "lib.rs" or rel.parts[0] in ("bin", "main.rs"):
            continue
        module = rel.parts[0].removesuffix(".rs")
        if module not in rank:
            problems.append(f"{path}: module {module} is not declared in {src}/lib.rs")
            continue
        text = code(path.read_text())
        # `crate::name`, and names inside `use crate::{a, b::c}` groups.
        names = re.findall(r"\bcrate::(\w+)", text)
        for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
            names += re.findall(r"(?:^|[,{\s])(\w+)(?:::|\s*[,}]|$)", group)
        for name in names:
            target = name if name in rank else reexports.get(name)
            if target is None or target == module:
                continue
            edges.add((module, target))
            if rank[target] > rank[module]:
                problems.append(
                    f"{path}: {module} imports {target} (crate::{name}), which {src}/lib.rs declares above it"
                )

    if problems:
        print(f"{src}/ layering violated:")
        print("\n".join(sorted(set(problems))))
        return False
    print(f"{src}/ layering holds: {len(order)} modules, {len(edges)} imports, each from a lower layer")
    return True


trees = [pathlib.Path(arg.rstrip("/")) for arg in sys.argv[1:]] or [pathlib.Path("src"), pathlib.Path("benches/src")]
results = [check(tree) for tree in trees]
sys.exit(0 if all(results) else 1)
