"""Runs inside the grading sandbox: execute one notebook with nbclient and write the result.

Everything here is as untrusted as the student's code beside it (same user, same sandbox): the grader outside treats
the notebook this writes as data to parse, never as a verdict.
"""

from __future__ import annotations

import argparse
import sys

from tlhelpers.grading.limits import (INTERRUPT_GRACE_SECONDS, MAX_CELL_OUTPUT_CHARS, MAX_PROBE_OUTPUT_CHARS,
                                      PROBE_TAG)


def _client_class():
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        """nbclient with a cap on the text each cell may print, applied as outputs arrive."""

        def output(self, outs, msg, display_id, cell_index):
            probe_cell = PROBE_TAG in self.nb.cells[cell_index].get("metadata", {})
            cap = MAX_PROBE_OUTPUT_CHARS if probe_cell else MAX_CELL_OUTPUT_CHARS
            used = sum(_size(o) for o in outs)
            if used >= cap:
                return None
            out = super().output(outs, msg, display_id, cell_index)
            if out is not None and used + _size(out) > cap:
                outs.remove(out)
                import nbformat
                outs.append(nbformat.v4.new_output("stream", name="stderr",
                                                   text=f"[output cut at {cap} characters]\n"))
            return out

        async def _async_handle_timeout(self, timeout, cell=None):
            return await _interrupt_then_kill(self, timeout)

    return CappedClient


async def _interrupt_then_kill(client, timeout: int):
    """At a cell's timeout: interrupt the kernel; if the cell has not answered within INTERRUPT_GRACE_SECONDS (it
    ignores SIGINT, e.g. ``signal.signal(SIGINT, SIG_IGN)`` then a loop), kill the kernel (SIGKILL) and stop.

    nbclient alone interrupts again every ``timeout`` seconds for ever, so such a cell held the grader until the
    whole run's wall limit.
    """
    from queue import Empty

    from nbclient.exceptions import DeadKernelError
    from nbclient.util import ensure_async

    await ensure_async(client.km.interrupt_kernel())
    try:
        # the interrupted cell's execute_reply: the poll loop takes it as the reply, and the notebook goes on
        return await ensure_async(client.kc.shell_channel.get_msg(timeout=INTERRUPT_GRACE_SECONDS))
    except Empty:
        pass
    await ensure_async(client.km.shutdown_kernel(now=True))
    raise DeadKernelError(f"a cell ran past {timeout} s and ignored the interrupt: its kernel was killed")


def _size(output) -> int:
    if output.get("output_type") == "stream":
        return len(output.get("text", ""))
    data = output.get("data", {})
    return sum(len(v) if isinstance(v, str) else len(str(v)) for v in data.values()) + len(str(output.get("traceback", "")))


def _not_dumpable() -> None:
    """PR_SET_DUMPABLE 0 for this runner: the student's code (the kernel is its child, same uid) cannot ptrace it or
    open its /proc/<pid>/mem, fd/ or environ, to change what it writes. The kernel, started by exec, is dumpable
    again, which only exposes the student's own process."""
    import ctypes

    try:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)         # PR_SET_DUMPABLE = 4
    except (AttributeError, OSError):
        pass                                            # not Linux: no /proc/<pid>/mem to protect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebook")
    parser.add_argument("output")
    parser.add_argument("--cell-timeout", type=int, default=300)
    parser.add_argument("--cwd", default=".")
    args = parser.parse_args(argv)
    _not_dumpable()

    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(args.notebook, as_version=4)
    client = _client_class()(nb, timeout=args.cell_timeout, allow_errors=True, kernel_name="python3",
                             interrupt_on_timeout=True, resources={"metadata": {"path": args.cwd}})
    status = "ok"
    try:
        client.execute()
    except DeadKernelError as error:
        status = "dead kernel" if "ignored the interrupt" not in str(error) else str(error)
    except CellTimeoutError:
        status = "timeout"
    except Exception as error:  # noqa: BLE001 - any failure is reported as data, the grader decides
        status = f"error: {type(error).__name__}"
    nb.metadata[PROBE_TAG] = {"status": status}
    nbformat.write(nb, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
