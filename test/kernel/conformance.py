#!/usr/bin/env python3
"""Jupyter's own kernel test suite (jupyter_kernel_test, Debian python3-jupyter-kernel-test) run
against the installed neurolmm kernel, with every feature the kernel claims, plus the protocol
rules the suite does not cover: every request gets exactly one reply, under bursts too.

Run by test/kernel/conformance.test.ts (which installs the kernelspec into a temp prefix and sets
JUPYTER_PATH). Prints one JSON line per test: {"check": name, "ok": bool, "detail": str}.
"""
import json
from queue import Empty
import sys
import time
import unittest

import jupyter_kernel_test
from jupyter_client.manager import start_new_kernel
from jupyter_kernel_test.msgspec_v5 import validate_message

KERNEL_NAME = sys.argv[1] if len(sys.argv) > 1 else "neurolmm"
BURST = 1000


class NeurolmmKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = KERNEL_NAME
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("to stderr")'
    code_generate_error = 'throw new Error("expected failure")'
    completion_samples = [{"text": "Math.floo", "matches": {"floor"}}]
    complete_code_samples = ["const a = 1;", "console.log(1)", "await Promise.resolve(2)", "let t: number = 1\nt"]
    incomplete_code_samples = ["function f() {", "const x = [", "if (true) {\n  1"]
    invalid_code_samples = ["const x = ;", "x = )", "}"]
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"conformance".length', "result": "11"},
        {"code": "[1, 2].map((v) => v * 2)", "result": "[ 2, 4 ]"},
    ]
    code_display_data = [{"code": 'display({ toMimeBundle: () => ({ "text/html": "<b>bold</b>" }) })', "mime": "text/html"}]
    code_history_pattern = '"conformance"*'
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "Math.floor"

    def send_shell(self, msg_type, content):
        msg = self.kc.session.msg(msg_type, content)
        self.kc.session.send(self.kc.shell_channel.socket, msg)
        return msg["header"]["msg_id"]

    def collect_replies(self, msg_ids, timeout):
        """Shell replies to msg_ids, each checked to be the only one (IOPub is drained meanwhile, as a frontend does)."""
        wanted, replies = set(msg_ids), {}
        deadline = time.time() + timeout
        while len(replies) < len(wanted) and time.time() < deadline:
            try:
                msg = self.kc.get_shell_msg(timeout=0.05)
            except Empty:
                self.drain_iopub()
                continue
            parent = msg["parent_header"].get("msg_id")
            if parent in wanted:
                self.assertNotIn(parent, replies, f"two replies to one {msg['msg_type']} request")
                if msg["content"].get("status") != "aborted":  # msgspec_v5 predates 'aborted'
                    validate_message(msg, None, parent)
                replies[parent] = msg
        return replies

    def drain_iopub(self):
        while True:
            try:
                self.kc.get_iopub_msg(timeout=0)
            except Empty:
                return

    def run_cell(self, code):
        """The execute_reply to code, its IOPub messages consumed up to its idle status."""
        msg_id = self.send_shell("execute_request", self.execute_content(code))
        reply = self.collect_replies([msg_id], timeout=jupyter_kernel_test.TIMEOUT)[msg_id]
        while True:
            msg = self.kc.get_iopub_msg(timeout=jupyter_kernel_test.TIMEOUT)
            if msg["parent_header"].get("msg_id") == msg_id and msg["content"].get("execution_state") == "idle":
                return reply

    def execute_content(self, code, stop_on_error=True):
        return dict(code=code, silent=False, store_history=False, user_expressions={}, allow_stdin=False,
                    stop_on_error=stop_on_error)

    def test_burst_of_execute_requests_all_answered(self):
        self.flush_channels()
        ids = [self.send_shell("execute_request", self.execute_content(f"{i} + 1")) for i in range(BURST)]
        replies = self.collect_replies(ids, timeout=240)
        self.assertEqual(len(replies), BURST, f"{BURST - len(replies)} of {BURST} execute requests got no reply")
        self.assertEqual({r["content"]["status"] for r in replies.values()}, {"ok"})
        self.flush_channels()

    def test_requests_queued_after_an_error_are_aborted(self):
        self.flush_channels()
        failing = self.send_shell("execute_request", self.execute_content('throw new Error("stop here")'))
        queued = [self.send_shell("execute_request", self.execute_content(f"{i}")) for i in range(20)]
        replies = self.collect_replies([failing, *queued], timeout=60)
        self.assertEqual(len(replies), 21)
        self.assertEqual(replies[failing]["content"]["status"], "error")
        self.assertEqual([replies[i]["content"]["status"] for i in queued], ["aborted"] * 20)
        # the kernel runs cells again afterwards
        time.sleep(0.5)
        self.assertEqual(self.run_cell("1 + 1")["content"]["status"], "ok")

    def test_burst_of_mixed_requests_each_answered_once(self):
        self.flush_channels()
        kinds = [
            ("kernel_info_request", {}),
            ("is_complete_request", {"code": "const y = ;"}),
            ("complete_request", {"code": "Math.ab", "cursor_pos": 7}),
            ("inspect_request", {"code": "Math.abs", "cursor_pos": 6, "detail_level": 0}),
            ("history_request", {"output": False, "raw": True, "hist_access_type": "tail", "n": 3}),
            ("comm_info_request", {}),
            ("execute_request", self.execute_content("2 * 3")),
        ]
        ids = {self.send_shell(kind, content): kind for _ in range(30) for kind, content in kinds}
        replies = self.collect_replies(ids, timeout=120)
        self.assertEqual(len(replies), len(ids))
        for msg_id, kind in ids.items():
            self.assertEqual(replies[msg_id]["msg_type"], kind.replace("_request", "_reply"))

    def test_is_complete_invalid_statement(self):
        self.check_is_complete("const x = ;", "invalid")

    def test_comm_info_lists_open_comms_by_target(self):
        self.flush_channels()
        # run_cell, not execute_helper: msgspec_v5 has no schema for the comm_open this publishes
        reply = self.run_cell('globalThis.conformanceComm = comms.open("conformance.target", {});')
        self.assertEqual(reply["content"]["status"], "ok")
        for target, present in (("conformance.target", True), ("other.target", False), (None, True)):
            msg_id = self.kc.comm_info(target)
            reply = self.get_non_kernel_info_reply(timeout=jupyter_kernel_test.TIMEOUT)
            validate_message(reply, "comm_info_reply", msg_id)
            comms = reply["content"]["comms"]
            listed = {c["target_name"] for c in comms.values()}
            self.assertEqual("conformance.target" in listed, present, f"target {target}: {comms}")
        self.run_cell("conformanceComm.close()")

    def test_shutdown_reply(self):
        # a kernel of its own: the suite's kernel is shut down by tearDownClass without a look at the reply
        km, kc = start_new_kernel(kernel_name=self.kernel_name)
        try:
            msg_id = kc.shutdown()
            reply = kc.get_control_msg(timeout=jupyter_kernel_test.TIMEOUT)
            validate_message(reply, "shutdown_reply", msg_id)
            self.assertEqual(reply["content"], {"status": "ok", "restart": False})
            deadline = time.time() + jupyter_kernel_test.TIMEOUT
            while km.is_alive() and time.time() < deadline:
                time.sleep(0.1)
            self.assertFalse(km.is_alive(), "the kernel still runs after shutdown_reply")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


class JsonLinesResult(unittest.TextTestResult):
    def report(self, test, ok, detail=""):
        print(json.dumps({"check": test.id().split(".", 1)[1], "ok": ok, "detail": detail}), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.report(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.report(test, False, self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self.report(test, False, self._exc_info_to_string(err, test))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None and not issubclass(err[0], unittest.SkipTest):
            self.report(subtest, False, self._exc_info_to_string(err, subtest))

    def addSkip(self, test, reason):
        # the suite skips what the kernel does not claim (pager, clear_output)
        super().addSkip(test, reason)
        print(json.dumps({"check": test.id().split(".", 1)[1], "ok": True, "skip": reason or "not claimed"}), flush=True)


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(NeurolmmKernelTests)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=JsonLinesResult).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
