"""Named points where crash tests stop or kill a writer, so a crash lands exactly there.

`RAG_TEST_FAILPOINT=name:kill` SIGKILLs the process when it reaches `name`; `name:stop`
SIGSTOPs it there, for a test that must act (kill a server, say) while the writer waits.
Unset, a failpoint costs one dictionary lookup. The points:
  catalog-commit  inside the catalog transaction, before it commits
  committed       after the catalog commit, before the vector store is touched
  vectors-adding  after the first batch of vectors reached the store
  rebuild         after the first batch of a vector collection rebuild
  repair          after the first batch of a repair's re-added vectors
"""

from __future__ import annotations

import os
import signal

VARIABLE = "RAG_TEST_FAILPOINT"
_SIGNALS = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP}


def reach(name: str) -> None:
    armed = os.environ.get(VARIABLE)
    if not armed:
        return
    point, _, action = armed.partition(":")
    if point == name:
        os.kill(os.getpid(), _SIGNALS[action or "kill"])
