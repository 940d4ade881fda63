"""reward_function.py is parsed with ast, never run."""

from __future__ import annotations

import pytest

from drmodels.rules.problems import Code
from drmodels.rules.reward import check_reward_function

ACCEPTED = {
    "plain def": b"def reward_function(params):\n    return 1.0\n",
    "other parameter name": b"def reward_function(param_dict):\n    return 1.0",
    "CRLF, tabs, no final newline": b"import math\r\ndef reward_function(params):\r\n\treturn 1.0",
    "non-ASCII comment": "# vitesse élevée 🏎\ndef reward_function(params):\n    return 1.0\n".encode(),
    "module-level instance method": (
        b"class Reward:\n    def reward_function(self, params):\n        return 1.0\n"
        b"reward_object = Reward()\nreward_function = reward_object.reward_function\n"
    ),
    "typed": b"def reward_function(params: dict) -> float:\n    return 1.0\n",
    "default extra argument": b"def reward_function(params, scale=1.0):\n    return scale\n",
    "lambda": b"reward_function = lambda params: 1.0\n",
    "never executed": b"import os\nos.system('rm -rf /')\nraise SystemExit(3)\ndef reward_function(params):\n"
    b"    return 1.0\n",
}


@pytest.mark.parametrize("source", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted(source: bytes) -> None:
    assert check_reward_function("reward_function.py", source) == []


REFUSED = {
    "no entry point": (b"def reward(params):\n    return 1.0\n", "has no top-level `reward_function`"),
    "only a method": (
        b"class R:\n    def reward_function(self, params):\n        return 1\n",
        "only as a method of class `R`",
    ),
    "self at module level": (b"def reward_function(self, params):\n    return 1\n", "requires 2 arguments"),
    "2019 twelve arguments": (
        b"def reward_function(on_track, x, y, distance_from_center, car_orientation,"
        b" progress, steps, throttle, steering, track_width, waypoints, closest):\n"
        b"    return 1\n",
        "requires 12 arguments",
    ),
    "no argument": (b"def reward_function():\n    return 1\n", "takes no argument"),
    "python 2 print": (b"def reward_function(params):\n    print 'hello'\n    return 1\n", "line 2"),
    "syntax error": (b"def reward_function(params)\n    return 1\n", "line 1"),
    "empty": (b"", "empty"),
    "not UTF-8": (b"# \xff\xfe\ndef reward_function(params):\n    return 1\n", "not UTF-8"),
    "binary": (b"\x7fELF\x00\x00\x00", "binary"),
    "a constant": (b"reward_function = 3\n", "constant 3"),
    "async": (b"async def reward_function(params):\n    return 1\n", "`async`"),
    "deeply nested": (b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n", "Python"),
}


@pytest.mark.parametrize(("source", "said"), REFUSED.values(), ids=REFUSED.keys())
def test_refused(source: bytes, said: str) -> None:
    problems = check_reward_function("reward_function.py", source)
    assert [p.code for p in problems if p.is_error] == [Code.MODEL_VALIDATION_SERVICE_ERROR]
    assert said in problems[0].explanation


def test_defined_twice_warns_and_uses_the_last() -> None:
    problems = check_reward_function(
        "reward_function.py",
        b"def reward_function(p):\n    return 1\ndef reward_function(a, b):\n    return 2\n",
    )
    assert [p.is_error for p in problems] == [False, True]
    assert "line 3" in problems[0].explanation
