"""The README's cloud-storage example (moto's S3 server + a mock cloud storage) runs as it is."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_bucket_pipeline_example_passes(pytester):
    blocks = re.findall(r"```python\n(# test_bucket_pipeline\.py.*?)```", README.read_text(),
                        re.S)
    assert len(blocks) == 1
    pytester.makepyfile(test_bucket_pipeline=blocks[0])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "ignore")
    result.assert_outcomes(passed=1)
