"""The README's five-line API prints what its comments say: each line of the first python block runs in a fresh
namespace, and an expression followed by `# value` evaluates to that value at the digits shown."""

import ast
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _stated_numbers(comment: str) -> np.ndarray:
    return np.array([float(token) for token in re.findall(r"-?\d+\.\d+", comment)])


def test_the_five_line_api_prints_its_comments():
    block = _python_blocks(README.read_text())[0]
    namespace: dict = {}
    checked = 0
    for line in block.splitlines():
        code, _, comment = line.partition("  # ")
        if not code.strip():
            continue
        tree = ast.parse(code.strip())
        if comment and isinstance(tree.body[0], ast.Expr):
            value = np.atleast_1d(np.asarray(eval(compile(ast.Expression(tree.body[0].value), "README", "eval"),
                                                  namespace)))
            stated = _stated_numbers(comment)
            decimals = max(len(token.split(".")[1]) for token in re.findall(r"-?\d+\.\d+", comment))
            np.testing.assert_array_equal(np.round(value, decimals), stated, err_msg=line)
            checked += 1
        else:
            exec(compile(tree, "README", "exec"), namespace)
    assert checked == 2   # the accuracy at three alphas and alpha*
