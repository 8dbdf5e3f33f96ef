#!/usr/bin/env python3
"""Protocol checks of the installed neurolmm kernel over ZeroMQ, with jupyter_client as the frontend.

Run by test/kernel/protocol.test.ts (which installs the kernelspec into a temp prefix and sets
JUPYTER_PATH). Prints one JSON line per check: {"check": name, "ok": bool, "detail": str}; exits 1 if
any check failed. Checks run in order and share one kernel (later ones use earlier cells' values).
"""
import json
import struct
import sys
import time
import traceback
import uuid

from jupyter_client.manager import start_new_kernel

TIMEOUT = 30
KERNEL_NAME = sys.argv[1] if len(sys.argv) > 1 else "neurolmm"

failures = 0


def report(name, ok, detail=""):
    global failures
    failures += 0 if ok else 1
    print(json.dumps({"check": name, "ok": ok, "detail": detail}), flush=True)


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


class Frontend:
    """Sends requests and collects, per request, the IOPub messages it caused and its reply."""

    def __init__(self, km, kc):
        self.km, self.kc = km, kc

    def send(self, msg_type, content, buffers=None, metadata=None, channel="shell"):
        msg = self.kc.session.msg(msg_type, content, metadata=metadata or {})
        socket = (self.kc.shell_channel if channel == "shell" else self.kc.control_channel).socket
        self.kc.session.send(socket, msg, buffers=buffers)
        return msg["header"]["msg_id"]

    def iopub_until_idle(self, msg_id, timeout=TIMEOUT):
        """IOPub messages whose parent is msg_id, from busy to idle (both included)."""
        messages, deadline = [], time.time() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return messages

    def reply(self, msg_id, channel="shell", timeout=TIMEOUT):
        get = self.kc.get_shell_msg if channel == "shell" else self.kc.control_channel.get_msg
        deadline = time.time() + timeout
        while True:
            msg = get(timeout=max(0.1, deadline - time.time()))
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    def request(self, msg_type, content, buffers=None, metadata=None, has_reply=True):
        msg_id = self.send(msg_type, content, buffers, metadata)
        iopub = self.iopub_until_idle(msg_id)
        return msg_id, iopub, (self.reply(msg_id) if has_reply else None)

    def execute(self, code, stop_on_error=False):
        content = dict(code=code, silent=False, store_history=True, user_expressions={},
                       allow_stdin=False, stop_on_error=stop_on_error)
        msg_id, iopub, reply = self.request("execute_request", content)
        return reply, iopub, msg_id

    def value(self, code):
        """text/plain of the execute_result of code (which must succeed)."""
        reply, iopub, _ = self.execute(code)
        expect(reply["content"]["status"] == "ok", f"{code!r} failed: {reply['content']}")
        results = [m for m in iopub if m["msg_type"] == "execute_result"]
        expect(len(results) == 1, f"{code!r}: expected one execute_result, got {[m['msg_type'] for m in iopub]}")
        return results[0]["content"]["data"]["text/plain"]


def of_type(messages, msg_type):
    return [m for m in messages if m["msg_type"] == msg_type]


def single(messages, msg_type):
    found = of_type(messages, msg_type)
    expect(len(found) == 1, f"expected one {msg_type}, got {[m['msg_type'] for m in messages]}")
    return found[0]


def comm_data(messages, comm_id):
    return [m for m in of_type(messages, "comm_msg") if m["content"]["comm_id"] == comm_id]


CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


@check
def kernel_info(fe):
    msg_id = fe.send("kernel_info_request", {})
    content = fe.reply(msg_id)["content"]
    expect(content["implementation"] == "neurolmm", content)
    expect(content["language_info"]["name"] == "typescript", content)


@check
def execute_result_of_last_value(fe):
    reply, iopub, msg_id = fe.execute("1+1")
    expect(reply["content"]["status"] == "ok", reply["content"])
    result = single(iopub, "execute_result")
    expect(result["content"]["data"] == {"text/plain": "2"}, result["content"])
    expect(result["content"]["execution_count"] == reply["content"]["execution_count"], "execution counts differ")
    expect(result["parent_header"]["msg_id"] == msg_id, "execute_result parent is not the request")
    expect(iopub[0]["content"] == {"execution_state": "busy"} and iopub[-1]["content"] == {"execution_state": "idle"},
           "not wrapped in busy/idle")
    announced = single(iopub, "execute_input")
    expect(announced["content"] == {"code": "1+1", "execution_count": reply["content"]["execution_count"]}, announced["content"])
    expect(iopub.index(announced) < iopub.index(result), "execute_input after the result")


@check
def mime_bundle_provider(fe):
    code = ('class Bold { constructor(readonly text: string) {}\n'
            '  toMimeBundle() { return { "text/html": `<b>${this.text}</b>` }; } }\n'
            'display(new Bold("shown"));\n'
            'new Bold("last")')
    reply, iopub, _ = fe.execute(code)
    expect(reply["content"]["status"] == "ok", reply["content"])
    shown = single(iopub, "display_data")["content"]["data"]
    last = single(iopub, "execute_result")["content"]["data"]
    expect(shown["text/html"] == "<b>shown</b>" and "text/plain" in shown, shown)
    expect(last["text/html"] == "<b>last</b>" and "text/plain" in last, last)


@check
def display_update(fe):
    reply, iopub, _ = fe.execute('display("v1", { displayId: "progress" }); display("v2", { displayId: "progress", update: true })')
    expect(reply["content"]["status"] == "ok", reply["content"])
    first, update = single(iopub, "display_data"), single(iopub, "update_display_data")
    expect(first["content"]["transient"] == {"display_id": "progress"}, first["content"])
    expect(update["content"]["data"]["text/plain"] == "'v2'", update["content"])


@check
def complete(fe):
    code = "const abcdefgh = 1;\nabcd"
    msg_id = fe.send("complete_request", {"code": code, "cursor_pos": len(code)})
    content = fe.reply(msg_id)["content"]
    expect(content["status"] == "ok" and "abcdefgh" in content["matches"], content)
    expect(content["cursor_start"] == len(code) - 4 and content["cursor_end"] == len(code), content)


@check
def inspect(fe):
    msg_id = fe.send("inspect_request", {"code": "Math.max", "cursor_pos": 7, "detail_level": 0})
    content = fe.reply(msg_id)["content"]
    expect(content["found"] and "max" in content["data"]["text/plain"], content)


@check
def inspect_lmer_shows_the_roi_signature_first(fe):
    reply, _, _ = fe.execute('import { lmer } from "neurolmm";')
    expect(reply["content"]["status"] == "ok", reply["content"])
    code = "lmer"
    msg_id = fe.send("inspect_request", {"code": code, "cursor_pos": len(code), "detail_level": 0})
    content = fe.reply(msg_id)["content"]
    text = content["data"].get("text/plain", "")
    first = text.split("\n")[0]
    expect(content["found"] and "function lmer(formula: string, data: DataInput, options?: LmerOptions): LinearMixedModel (+1 overload)" in first, text)


BINARY = bytes(range(256)) * 64  # every byte value, 16 KiB


@check
def comm_open_from_frontend(fe):
    fe.value('const closedWith: unknown[] = [];\n'
             'comms.registerTarget("echo", (comm, data) => {\n'
             '  comm.send({ opened: data });\n'
             '  comm.onMsg((d, buffers) => comm.send({ echo: d, sizes: buffers.map((b) => b.length) }, { buffers }));\n'
             '  comm.onClose((d) => closedWith.push(d));\n'
             '}); "registered"')
    fe.echo_id = str(uuid.uuid4())
    msg_id, iopub, _ = fe.request("comm_open", {"comm_id": fe.echo_id, "target_name": "echo", "data": {"hello": 1}},
                                  has_reply=False)
    expect(iopub[0]["content"] == {"execution_state": "busy"}, "comm_open not wrapped in busy/idle")
    opened = single(iopub, "comm_msg")
    expect(opened["content"] == {"comm_id": fe.echo_id, "data": {"opened": {"hello": 1}}}, opened["content"])
    expect(opened["parent_header"]["msg_id"] == msg_id, "reply's parent is not the comm_open")


@check
def comm_msg_binary_round_trip(fe):
    _, iopub, _ = fe.request("comm_msg", {"comm_id": fe.echo_id, "data": {"x": 1}}, buffers=[BINARY, b"\x00\xff"],
                             has_reply=False)
    echo = single(iopub, "comm_msg")
    expect(echo["content"]["data"] == {"echo": {"x": 1}, "sizes": [len(BINARY), 2]}, echo["content"])
    buffers = [bytes(b) for b in echo["buffers"]]
    expect(buffers == [BINARY, b"\x00\xff"], f"buffers changed: {[len(b) for b in buffers]}")


@check
def comm_info_reply(fe):
    msg_id, _, reply = fe.request("comm_info_request", {})
    expect(reply["msg_type"] == "comm_info_reply", f"msg_type {reply['msg_type']}")
    expect(reply["content"]["status"] == "ok", reply["content"])
    expect(reply["content"]["comms"].get(fe.echo_id) == {"target_name": "echo"}, reply["content"])
    _, _, filtered = fe.request("comm_info_request", {"target_name": "jupyter.widget"})
    expect(fe.echo_id not in filtered["content"]["comms"], "target_name filter ignored")


@check
def comm_close_from_frontend(fe):
    fe.request("comm_close", {"comm_id": fe.echo_id, "data": {"bye": True}}, has_reply=False)
    expect(fe.value("JSON.stringify(closedWith)") == "'[{\"bye\":true}]'", "onClose did not run once with the data")
    _, _, reply = fe.request("comm_info_request", {})
    expect(fe.echo_id not in reply["content"]["comms"], "closed comm still listed")


@check
def comm_open_unknown_target_is_closed(fe):
    comm_id = str(uuid.uuid4())
    _, iopub, _ = fe.request("comm_open", {"comm_id": comm_id, "target_name": "nobody", "data": {}}, has_reply=False)
    closed = single(iopub, "comm_close")
    expect(closed["content"]["comm_id"] == comm_id, closed["content"])


@check
def comm_open_from_kernel(fe):
    reply, iopub, msg_id = fe.execute(
        'const fromKernel = comms.open("kernel.target", { a: 1 }, { buffers: [new Uint8Array([1, 2, 3])] });\n'
        'fromKernel.onMsg((d, buffers) => fromKernel.send({ got: d }, { buffers: [buffers[0].reverse()] }));\n'
        'fromKernel.commId')
    opened = single(iopub, "comm_open")
    content = opened["content"]
    expect(content["target_name"] == "kernel.target" and content["data"] == {"a": 1}, content)
    expect([bytes(b) for b in opened["buffers"]] == [b"\x01\x02\x03"], "comm_open buffers")
    expect(opened["parent_header"]["msg_id"] == msg_id, "comm_open parent is not the execute request")
    comm_id = content["comm_id"]
    _, iopub, _ = fe.request("comm_msg", {"comm_id": comm_id, "data": {"q": 2}}, buffers=[b"abc"], has_reply=False)
    answer = single(iopub, "comm_msg")
    expect(answer["content"]["data"] == {"got": {"q": 2}} and bytes(answer["buffers"][0]) == b"cba", answer["content"])
    _, iopub, _ = fe.execute("fromKernel.close()")
    expect(single(iopub, "comm_close")["content"]["comm_id"] == comm_id, "no comm_close")


SLIDER = ('{ modelName: "IntSliderModel", modelModule: "@jupyter-widgets/controls", modelModuleVersion: "2.0.0",'
          ' viewName: "IntSliderView", viewModule: "@jupyter-widgets/controls", viewModuleVersion: "2.0.0",'
          ' state: { value: 3, data: new Float64Array([1.5, -2.25, 1e300]) },'
          ' buffers: [{ path: ["extra", "bytes"], data: new Uint8Array([7, 8]) }] }')


@check
def widget_create(fe):
    reply, iopub, _ = fe.execute(
        f'const w = widgets.create({SLIDER});\n'
        'const seen: unknown[] = [];\n'
        'w.on("change:value", (v) => seen.push(v));\n'
        'w.onCustom((content, buffers) => w.send({ got: content, n: buffers.length }, buffers));\n'
        'w')
    opened = single(iopub, "comm_open")
    content = opened["content"]
    expect(content["target_name"] == "jupyter.widget", content)
    expect(opened["metadata"].get("version") == "2.1.0", opened["metadata"])
    state = content["data"]["state"]
    expect(state["_model_name"] == "IntSliderModel" and state["_view_module"] == "@jupyter-widgets/controls", state)
    expect(state["value"] == 3 and "data" not in state and state["extra"] == {}, state)
    paths = content["data"]["buffer_paths"]
    buffers = dict(zip(map(tuple, paths), (bytes(b) for b in opened["buffers"])))
    expect(buffers == {("data",): struct.pack("<3d", 1.5, -2.25, 1e300), ("extra", "bytes"): b"\x07\x08"},
           f"buffer_paths {paths}")
    view = single(iopub, "execute_result")["content"]["data"]["application/vnd.jupyter.widget-view+json"]
    expect(view == {"version_major": 2, "version_minor": 0, "model_id": content["comm_id"]}, view)
    fe.widget_id = content["comm_id"]


@check
def widget_update_from_frontend_is_echoed(fe):
    msg_id, iopub, _ = fe.request("comm_msg", {"comm_id": fe.widget_id, "data": {
        "method": "update", "state": {"value": 7}, "buffer_paths": []}}, has_reply=False)
    echo = single(iopub, "comm_msg")
    expect(echo["content"]["data"] == {"method": "echo_update", "state": {"value": 7}, "buffer_paths": []},
           echo["content"])
    expect(echo["parent_header"]["msg_id"] == msg_id, "echo_update parent is not the update")
    expect(fe.value("JSON.stringify([w.get('value'), seen])") == "'[7,[7]]'", "change listener did not run")


@check
def widget_binary_update_from_frontend(fe):
    data = struct.pack("<2d", 9.0, 8.0)
    _, iopub, _ = fe.request("comm_msg", {"comm_id": fe.widget_id, "data": {
        "method": "update", "state": {}, "buffer_paths": [["data"]]}}, buffers=[data], has_reply=False)
    echo = single(iopub, "comm_msg")
    expect(echo["content"]["data"]["buffer_paths"] == [["data"]] and bytes(echo["buffers"][0]) == data,
           echo["content"])
    got = fe.value("Array.from(new Float64Array((w.get('data') as Uint8Array).buffer)).join(',')")
    expect(got == "'9,8'", got)


@check
def widget_update_from_kernel(fe):
    _, iopub, _ = fe.execute("w.set({ value: 11 })")
    update = single(iopub, "comm_msg")
    expect(update["content"]["data"] == {"method": "update", "state": {"value": 11}, "buffer_paths": []},
           update["content"])


@check
def widget_request_state(fe):
    _, iopub, _ = fe.request("comm_msg", {"comm_id": fe.widget_id, "data": {"method": "request_state"}},
                             has_reply=False)
    update = single(iopub, "comm_msg")["content"]["data"]
    expect(update["method"] == "update" and update["state"]["value"] == 11, update)
    expect(update["state"]["_model_name"] == "IntSliderModel", update)
    expect(sorted(update["buffer_paths"]) == [["data"], ["extra", "bytes"]], update["buffer_paths"])


@check
def widget_custom_message(fe):
    _, iopub, _ = fe.request("comm_msg", {"comm_id": fe.widget_id, "data": {"method": "custom", "content": {"ping": 1}}},
                             buffers=[b"xyz"], has_reply=False)
    answer = single(iopub, "comm_msg")
    expect(answer["content"]["data"] == {"method": "custom", "content": {"got": {"ping": 1}, "n": 1}},
           answer["content"])
    expect(bytes(answer["buffers"][0]) == b"xyz", "custom buffer")


@check
def widget_control_request_states(fe):
    control_id = str(uuid.uuid4())
    fe.request("comm_open", {"comm_id": control_id, "target_name": "jupyter.widget.control", "data": {}},
               metadata={"version": "1.0.0"}, has_reply=False)
    _, iopub, _ = fe.request("comm_msg", {"comm_id": control_id, "data": {"method": "request_states"}},
                             has_reply=False)
    msg = single(iopub, "comm_msg")
    data = msg["content"]["data"]
    expect(data["method"] == "update_states", data)
    entry = data["states"][fe.widget_id]
    expect(entry["model_name"] == "IntSliderModel" and entry["model_module"] == "@jupyter-widgets/controls", entry)
    expect(entry["state"]["value"] == 11, entry)
    paths = [tuple(p) for p in data["buffer_paths"]]
    expect((fe.widget_id, "state", "data") in paths, paths)
    data_buffer = bytes(msg["buffers"][paths.index((fe.widget_id, "state", "data"))])
    expect(data_buffer == struct.pack("<2d", 9.0, 8.0), "control state buffer")
    _, _, reply = fe.request("comm_info_request", {"target_name": "jupyter.widget"})
    expect(reply["content"]["comms"].get(fe.widget_id) == {"target_name": "jupyter.widget"}, reply["content"])
    fe.request("comm_close", {"comm_id": control_id, "data": {}}, has_reply=False)


@check
def widget_close(fe):
    _, iopub, _ = fe.execute("w.close(); w.isClosed")
    expect(single(iopub, "comm_close")["content"]["comm_id"] == fe.widget_id, "no comm_close")
    expect(single(iopub, "execute_result")["content"]["data"]["text/plain"] == "true", "widget not closed")


@check
def runtime_error(fe):
    reply, iopub, _ = fe.execute('function explode(): never { throw new RangeError("boom") }\nexplode()')
    content = reply["content"]
    expect(content["status"] == "error" and content["ename"] == "RangeError" and content["evalue"] == "boom", content)
    error = single(iopub, "error")["content"]
    expect(error["traceback"][0] == "RangeError: boom", error["traceback"])
    expect(any("explode" in line for line in error["traceback"]), error["traceback"])
    internals = [line for line in error["traceback"] if "tslab" in line or "node:" in line or "kernel-ext" in line]
    expect(not internals, f"kernel internals in traceback: {internals}")
    expect(fe.value("1 + 2") == "3", "kernel not alive after error")


@check
def compile_error(fe):
    reply, iopub, _ = fe.execute('const typed: number = "text"')
    content = reply["content"]
    expect(content["status"] == "error" and content["ename"] == "TSError", content)
    expect("not assignable to type 'number'" in content["evalue"], content["evalue"])
    expect(single(iopub, "error")["content"]["ename"] == "TSError", "no error output")


@check
def error_aborts_queued_cells(fe):
    failing = fe.send("execute_request", dict(code='throw new Error("first")', silent=False, store_history=True,
                                              user_expressions={}, allow_stdin=False, stop_on_error=True))
    queued = fe.send("execute_request", dict(code='"never"', silent=False, store_history=True,
                                             user_expressions={}, allow_stdin=False, stop_on_error=True))
    expect(fe.reply(failing)["content"]["status"] == "error", "first cell did not fail")
    expect(fe.reply(queued)["content"]["status"] == "aborted", "queued cell was not aborted")
    time.sleep(0.3)  # tslab keeps aborting for 200 ms after an error
    expect(fe.value('"after"') == "'after'", "kernel did not recover")


def interrupted(fe, code):
    msg_id = fe.send("execute_request", dict(code=code, silent=False, store_history=True, user_expressions={},
                                             allow_stdin=False, stop_on_error=False))
    time.sleep(1.5)
    start = time.time()
    fe.km.interrupt_kernel()
    content = fe.reply(msg_id, timeout=15)["content"]
    expect(content["status"] == "error" and content["ename"] == "Interrupted", content)
    expect(time.time() - start < 10, "interrupt took too long")
    fe.iopub_until_idle(msg_id)
    expect(fe.value("6 * 7") == "42", "kernel not alive after interrupt")


@check
def interrupt_awaited_cell(fe):
    interrupted(fe, 'await new Promise((resolve) => setTimeout(resolve, 60000)); "finished"')


@check
def interrupt_busy_loop(fe):
    interrupted(fe, "let spins = 0;\nwhile (true) { spins++; }")


def main():
    km, kc = start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=60)
    fe = Frontend(km, kc)
    try:
        for fn in CHECKS:
            try:
                fn(fe)
                report(fn.__name__, True)
            except CheckFailed as e:
                report(fn.__name__, False, str(e))
            except Exception:
                report(fn.__name__, False, traceback.format_exc())
    finally:
        start = time.time()
        kc.stop_channels()
        km.shutdown_kernel(now=False)
        report("shutdown", not km.is_alive() and time.time() - start < 5, f"took {time.time() - start:.1f}s")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
