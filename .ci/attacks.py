"""Attacks on the example servers, as an operator and a hostile client would make them.

Run by .ci/attacks.sh (bounded sizes, in CI) and bench/attacks.sh (the full sizes, with
redis-server beside kv_server): `python3 .ci/attacks.py BIN_DIR ATTACK`. Each attack
starts the release example it needs on 127.0.0.1:0, checks the outcome the project
promises, prints one `result:` line with what it measured, and exits non-zero if the
promise does not hold. Every wait is bounded; servers are killed on exit. Sizes come from
environment variables, named in each attack.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

BIN = sys.argv[1]
ATTACK = sys.argv[2]
started = []


def env(name, default):
    return int(os.environ.get(name, default))


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def result(text):
    print(f"result: {text}")


def start(name, *args, stderr=subprocess.DEVNULL, preexec=None, stdout_devnull=False):
    """Starts examples/NAME on 127.0.0.1:0; returns (process, (host, port)). With
    `stdout_devnull`, its output after the address line is drained, not kept."""
    command = [os.path.join(BIN, name), "127.0.0.1:0", *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=stderr,
        preexec_fn=preexec,
    )
    started.append(process)
    line = read_line(process.stdout, 10)
    if not line.startswith(b"listening on "):
        fail(f"{name} printed {line!r} instead of its address")
    host, port = line.split(b" ")[-1].decode().strip().rsplit(":", 1)
    if stdout_devnull:
        pipe = process.stdout
        threading.Thread(target=lambda: pipe.read(), daemon=True).start()
    return process, (host, int(port))


def read_line(pipe, limit):
    """The next line of a child's pipe, within `limit` seconds."""
    box = []
    reader = threading.Thread(target=lambda: box.append(pipe.readline()), daemon=True)
    reader.start()
    reader.join(limit)
    if not box:
        fail(f"no line within {limit}s")
    return box[0]


def connect(addr, timeout=5):
    s = socket.create_connection(addr, timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_until(s, end, limit=1 << 20):
    data = b""
    while not data.endswith(end):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            break
    return data


def wait_exit(process, limit):
    """The process's exit status (as a shell reports it: 128 + N for signal N), or None
    if it still runs after `limit` seconds."""
    try:
        status = process.wait(limit)
    except subprocess.TimeoutExpired:
        return None
    return 128 - status if status < 0 else status


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rlimit_nofile(n):
    def apply():
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    return apply


# ---------------------------------------------------------------------------------------
# Item 3: a stalled stderr never stalls a server


def kv_stalled_stderr():
    """kv_server with stderr on a pipe nobody drains: COMMANDS unknown commands (each
    would be logged), then PING from a second client answered in time; then the pipe's
    reader closes and an unknown command still gets its error reply."""
    commands = env("COMMANDS", 20000)
    process, addr = start("kv_server", stderr=subprocess.PIPE)  # never read
    flood = connect(addr)
    batch = b"NOSUCHCOMMAND x\r\n" * 1000
    want = b"-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \r\n"
    started_at = time.monotonic()
    for _ in range(commands // 1000):
        flood.sendall(batch)
        got = b""
        while len(got) < len(want) * 1000:
            chunk = flood.recv(1 << 20)
            if not chunk:
                fail(f"kv_server closed the connection after {len(got)} reply bytes")
            got += chunk
    elapsed = time.monotonic() - started_at
    other = connect(addr, timeout=2)
    t = time.monotonic()
    other.sendall(b"PING\r\n")
    if other.recv(64) != b"+PONG\r\n":
        fail("PING not answered")
    ping_ms = (time.monotonic() - t) * 1000
    # The reader of stderr goes away: logging now fails with EPIPE.
    process.stderr.close()
    flood.sendall(b"NOSUCHCOMMAND x\r\n")
    time.sleep(1.1)  # past the rate limit: this one is logged, and the write fails
    flood.sendall(b"NOSUCHCOMMAND x\r\nPING\r\n")
    got = recv_until(flood, b"+PONG\r\n")
    if got != want * 2 + b"+PONG\r\n":
        fail(f"after stderr's reader left: {got[:200]!r}")
    result(
        f"{commands} unknown commands with stderr stalled: all answered in {elapsed:.2f} s, "
        f"then PING in {ping_ms:.1f} ms; with stderr's reader gone, still answered"
    )


def kv_log_volume():
    """COMMANDS unknown commands with stderr drained: the log stays a few lines."""
    commands = env("COMMANDS", 20000)
    log = open(os.path.join(os.environ["TMP"], "kv.err"), "w+b")
    process, addr = start("kv_server", stderr=log)
    flood = connect(addr)
    batch = b"NOSUCHCOMMAND x\r\n" * 1000
    want = len(b"-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \r\n")
    for _ in range(commands // 1000):
        flood.sendall(batch)
        got = 0
        while got < want * 1000:
            chunk = flood.recv(1 << 20)
            if not chunk:
                fail("connection closed")
            got += len(chunk)
    time.sleep(0.3)
    size = os.path.getsize(log.name)
    if size > 4096:
        fail(f"{commands} unknown commands wrote {size} bytes of log")
    result(f"{commands} unknown commands wrote {size} bytes of log")


# ---------------------------------------------------------------------------------------
# Item 8: SIGINT and SIGTERM are graceful


def echo_sigterm():
    """CLIENTS echo clients each send what fits in the socket buffers without reading;
    SIGTERM; every byte the server's kernel had received must come back, then end of
    file, and the server must exit 0."""
    import fcntl
    import termios

    clients = env("CLIENTS", 20)
    process, addr = start("echo_server")
    socks, sent, floor = [], [], []
    for i in range(clients):
        s = connect(addr)
        s.setblocking(False)
        data = bytes([65 + i % 26]) * (1 << 20)
        n = 0
        deadline = time.monotonic() + 5
        while n < len(data) and time.monotonic() < deadline:
            try:
                n += s.send(data[n : n + 65536])
            except BlockingIOError:
                time.sleep(0.05)
                try:
                    n += s.send(data[n : n + 65536])
                except BlockingIOError:
                    break
        socks.append(s)
        sent.append(n)
    time.sleep(0.2)
    for s, n in zip(socks, sent):
        # Bytes still in our send queue have not reached the server: they need not come
        # back. Everything else has.
        queued = fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        floor.append(n - int.from_bytes(queued, sys.byteorder))
    process.send_signal(signal.SIGTERM)
    got_total, want_total = 0, 0
    for i, s in enumerate(socks):
        s.setblocking(True)
        s.settimeout(10)
        got = 0
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                if chunk.count(65 + i % 26) != len(chunk):
                    fail(f"client {i}: bytes not its own")
                got += len(chunk)
        except (ConnectionResetError, socket.timeout) as e:
            fail(f"client {i}: {e!r} after {got} of at least {floor[i]} bytes")
        if got < floor[i]:
            fail(f"client {i}: {got} bytes echoed, the server had received {floor[i]}")
        got_total += got
        want_total += floor[i]
        s.close()
    status = wait_exit(process, 10)
    if status != 0:
        fail(f"echo_server exit status {status}")
    result(
        f"SIGTERM with {clients} clients mid-stream: {got_total} of {want_total} bytes "
        f"received before the signal echoed (100 %), exit 0"
    )


def second_signal():
    """A client that never closes keeps echo_server in its grace period; a second signal
    then exits at once with 128 + its number. Without one, the grace period ends it
    with status 0."""
    for sig, want in [(signal.SIGINT, 130), (signal.SIGTERM, 143)]:
        process, addr = start("echo_server")
        s = connect(addr)
        s.sendall(b"x")
        s.recv(1)
        process.send_signal(sig)
        time.sleep(0.3)
        if wait_exit(process, 0.1) is not None:
            fail("exited during the grace period with a client connected")
        t = time.monotonic()
        process.send_signal(sig)
        status = wait_exit(process, 2)
        if status != want:
            fail(f"second {sig.name}: exit status {status}, expected {want}")
        s.close()
    process, addr = start("echo_server", "--grace", "1")
    s = connect(addr)
    # An echo first: a connection still in the listen queue when the signal comes is
    # never accepted, and then nothing keeps the server in its grace period.
    s.sendall(b"x")
    s.recv(1)
    process.send_signal(signal.SIGTERM)
    t = time.monotonic()
    status = wait_exit(process, 5)
    took = time.monotonic() - t
    if status != 0 or not 0.8 < took < 3:
        fail(f"--grace 1: exit status {status} after {took:.1f} s")
    result("second SIGINT: exit 130, second SIGTERM: exit 143, at once; --grace 1: exit 0 after 1 s")


def sigterm_servers():
    """kv_server, http_hello and chat_server, each with an idle client and one
    mid-request: SIGTERM; the request is answered, new clients are refused, exit 0."""
    cases = [
        ("kv_server", b"*1\r\n$4\r\nPI", b"NG\r\n", b"+PONG\r\n"),
        ("http_hello", b"GET / HTTP/1.1\r\n", b"\r\n", b"Hello, world!"),
        ("chat_server", None, None, None),
    ]
    for name, head, tail, reply in cases:
        for sig in [signal.SIGINT, signal.SIGTERM]:
            process, addr = start(name)
            idle = connect(addr)
            busy = connect(addr)
            if head:
                busy.sendall(head)
            time.sleep(0.1)
            t = time.monotonic()
            process.send_signal(sig)
            time.sleep(0.2)
            try:
                connect(addr, timeout=1)
                fail(f"{name}: a new client was accepted after {sig.name}")
            except ConnectionRefusedError:
                pass
            if head:
                busy.sendall(tail)
                got = recv_until(busy, reply)
                if not got.endswith(reply):
                    fail(f"{name}: the request in flight got {got!r}")
            status = wait_exit(process, 7)
            took = time.monotonic() - t
            if status != 0:
                fail(f"{name}: exit status {status} after {sig.name}")
            idle.close()
            busy.close()
    result(f"kv_server, http_hello, chat_server: SIGINT and SIGTERM finish the request in flight, refuse new clients, exit 0 (last in {took:.2f} s)")


# ---------------------------------------------------------------------------------------
# kv_server, and redis-server beside it when REDIS=1 (bench/attacks.sh)


def start_redis(preexec=None):
    """redis-server on a free loopback port, without persistence."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=preexec,
    )
    started.append(process)
    for _ in range(100):
        try:
            connect(("127.0.0.1", port)).close()
            return process, ("127.0.0.1", port)
        except ConnectionRefusedError:
            time.sleep(0.05)
    fail("redis-server did not start")


def kv_targets():
    """[(name, start function)]: kv_server, and redis-server if REDIS=1."""
    targets = [("kv_server", lambda: start("kv_server"))]
    if os.environ.get("REDIS") == "1":
        targets.append(("redis-server", start_redis))
    return targets


def command(s, line):
    s.sendall(line)
    return recv_until(s, b"\r\n")


def kv_expiry():
    """KEYS (2,000,000) keys with a 100 ms expiry, written pipelined as fast as they go,
    then KEYS/4 with 1-2000 ms: DBSIZE must be <= 1 % of the keys EXPIRY_WAIT_S (3) s
    after the last one expired, and PING answered within PING_LIMIT_MS (10) ms throughout
    the purge; 90 % of the PINGs sent while more than 1 % of the keys are left, within
    PING_P90_MS (10) ms.

    The wall-clock bounds have to be relaxed on a machine shared with other work
    (.ci/attacks.sh does), and then a slow purge passes them too. What tells the purges
    apart there is how long most PINGs wait: the sweep that let the sockets be looked at
    only between its 25 ms cycles kept 90 % of them within 23 to 24 ms; the one that
    yields every 25 us, within 3.6 ms, on a host so busy that it left 16,545 keys at
    +3 s. The server's CPU time per key (writing and purging it) is reported, not
    checked: the host's other work doubled it for both sweeps alike."""
    keys = env("KEYS", 2000000)
    # The bounds aimed at: 3 s and 10 ms. (.ci/attacks.sh relaxes them, for a machine
    # shared with other work; bench/attacks.sh keeps them.)
    ping_limit = env("PING_LIMIT_MS", 10) / 1000
    p90_limit = env("PING_P90_MS", 10) / 1000
    wait = env("EXPIRY_WAIT_S", 3)
    parts, problems = [], []
    for target, launch in kv_targets():
        for expiry in ["100", "random"]:
            count = keys if expiry == "100" else keys // 4
            run = expiry_run(target, launch, expiry, count, wait)
            size, worst, p90 = run["size"], run["worst"], run["p90"]
            if target == "kv_server" and (size > count // 100 or worst > ping_limit
                                          or p90 > p90_limit):
                problems.append(f"{count} keys ({expiry} ms): DBSIZE {size} {run['at']:.1f} s "
                                f"after the last expiry, worst PING {worst * 1000:.1f} ms, "
                                f"90 % within {p90 * 1000:.1f} ms")
            parts.append(f"{target} {count} keys, {expiry} ms expiry (written in "
                         f"{run['written']:.1f} s): DBSIZE {size} at +{run['at']:.1f} s, worst "
                         f"PING {worst * 1000:.1f} ms (90 % of the {run['pings']} during the "
                         f"purge within {p90 * 1000:.1f} ms), CPU {run['cpu_ns']:.0f} ns per "
                         f"key, RSS {run['rss']} MB")
    # Every target is measured before judging, so that a failure still shows redis-server's
    # figures from the same run.
    if problems:
        fail("; ".join(parts))
    result("; ".join(parts))


def expiry_run(target, launch, expiry, count, wait):
    """One case of kv_expiry on a fresh server: writes `count` keys, then PINGs until the
    purge is judged; returns what was measured."""
    process, addr = launch()
    writer = connect(addr, timeout=30)
    drained = threading.Event()

    def drain(s=writer, n=count):
        want = 5 * n  # "+OK\r\n"
        got = 0
        while got < want:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
        drained.set()

    threading.Thread(target=drain, daemon=True).start()
    t = time.monotonic()
    batch = []
    for i in range(count):
        px = 100 if expiry == "100" else 1 + (i * 7919) % 2000
        batch.append(b"SET key:%d v PX %d\r\n" % (i, px))
        if len(batch) == 10000:
            writer.sendall(b"".join(batch))
            batch = []
    writer.sendall(b"".join(batch))
    if not drained.wait(120):
        fail(f"{target}: the SETs were not all answered")
    written = time.monotonic() - t
    last_expiry = time.monotonic() + (0.1 if expiry == "100" else 2.0)
    # PING every 5 ms, keeping the worst time, and DBSIZE every 100 ms: for 3 s after the
    # last deadline (the window aimed at), then on until the key space is purged or
    # `wait` has passed.
    pinger = connect(addr)
    worst = 0
    purging = []  # the PING times while more than 1 % of the keys were left
    size, sized = count, 0
    while True:
        now = time.monotonic()
        if now >= last_expiry + wait or (size <= count // 100 and now >= last_expiry + 3):
            break
        if command(pinger, b"PING\r\n") != b"+PONG\r\n":
            fail(f"{target}: PING")
        took = time.monotonic() - now
        worst = max(worst, took)
        if size > count // 100:
            purging.append(took)
        if now - sized >= 0.1:
            size, sized = int(command(pinger, b"DBSIZE\r\n")[1:]), now
        time.sleep(0.005)
    purging.sort()
    p90 = purging[len(purging) * 9 // 10] if purging else 0
    size = int(command(pinger, b"DBSIZE\r\n")[1:])
    run = {
        "size": size,
        "at": time.monotonic() - last_expiry,
        "worst": worst,
        "cpu_ns": cpu_ticks(process.pid) * 1e9 / os.sysconf("SC_CLK_TCK") / count,
        "rss": rss_kib(process.pid) // 1024,
        "written": written,
        "p90": p90,
        "pings": len(purging),
    }
    process.kill()
    process.wait()
    return run


def kv_large_argument():
    """SET k <SIZE_MIB (32) MiB>: once stored, the server's RSS has grown by about the
    argument, and at the peak by about the same: one copy (the argument is read into a
    buffer of its own, which becomes the value), as in redis-server."""
    size = env("SIZE_MIB", 32) << 20
    parts = []
    for target, launch in kv_targets():
        process, addr = launch()
        before = rss_kib(process.pid)
        s = connect(addr, timeout=30)
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % size)
        chunk = b"x" * (1 << 20)
        for _ in range(size >> 20):
            s.sendall(chunk)
        s.sendall(b"\r\n")
        if recv_until(s, b"\r\n") != b"+OK\r\n":
            fail(f"{target}: SET of {size >> 20} MiB")
        time.sleep(0.3)  # the server frees its buffer just after the reply
        with open(f"/proc/{process.pid}/status") as f:
            peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        grew = (rss_kib(process.pid) - before) // 1024
        peak = (peak - before) // 1024
        # Stored, the value costs its size, and so it does at the peak: the buffer it was
        # read into is the value. (Copied out of the request's buffer, it peaked at twice
        # its size; with that buffer doubled to 64 MiB and zero-filled, three times.)
        mib = size >> 20
        if target == "kv_server" and (grew > mib * 1.1 + 2 or peak > mib * 1.2 + 4):
            fail(f"a {mib} MiB argument took {grew} MB (peak {peak} MB)")
        parts.append(f"{target}: RSS +{grew} MB once a {size >> 20} MiB value is stored "
                     f"(peak +{peak} MB)")
    result("; ".join(parts))


# What redis-server 7.0.15 answers to each input, recorded with bench/attacks.sh's REDIS=1
# run (which checks it again): the reply, then `<wait>` if the connection stays open with
# nothing more said, or `<EOF>` if the server closes it.
RESP_CASES = [
    (b"*2147483647\r\n", b"<wait>"),
    (b"*2147483648\r\n", b"-ERR Protocol error: invalid multibulk length\r\n<EOF>"),
    (b"*1048577\r\n", b"<wait>"),
    (b"*-9223372036854775808\r\nPING\r\n", b"+PONG\r\n<wait>"),
    (b"*-9223372036854775809\r\n", b"-ERR Protocol error: invalid multibulk length\r\n<EOF>"),
    (b"*04\r\n", b"-ERR Protocol error: invalid multibulk length\r\n<EOF>"),
    (b"*-0\r\n", b"-ERR Protocol error: invalid multibulk length\r\n<EOF>"),
    (b"*1\r\n$04\r\nPING\r\n", b"-ERR Protocol error: invalid bulk length\r\n<EOF>"),
    (b"*1\r\n$00\r\n\r\n", b"-ERR Protocol error: invalid bulk length\r\n<EOF>"),
    (b"*1\r\n$536870912\r\n", b"<wait>"),
    (b"*1\r\n$536870913\r\n", b"-ERR Protocol error: invalid bulk length\r\n<EOF>"),
    (b"*1\r\n$4\r\nPINGxx", b"+PONG\r\n<wait>"),
    (b"*0\r\n*-1\r\nPING\r\n", b"+PONG\r\n<wait>"),
    (b"SET k v PX 9223372036854775807\r\n", b"-ERR invalid expire time in 'set' command\r\n<wait>"),
    (b"SET k v EX 9223372036854775\r\n", b"-ERR invalid expire time in 'set' command\r\n<wait>"),
    (b"SET k v PX 9000000000000000000\r\n", b"+OK\r\n<wait>"),
]


def probe_resp(addr, data):
    s = connect(addr, timeout=0.5)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out + b"<EOF>"
            out += chunk
    except socket.timeout:
        return out + b"<wait>"
    except ConnectionResetError:
        return out + b"<EOF>"
    finally:
        s.close()


def kv_resp_edges():
    """The RESP edge cases where kv_server used to differ from redis-server: the same
    replies, and the same choice between waiting and closing."""
    for target, launch in kv_targets():
        process, addr = launch()
        for data, want in RESP_CASES:
            got = probe_resp(addr, data)
            if got != want:
                fail(f"{target}: {data!r} -> {got!r}, redis-server 7.0: {want!r}")
    result(f"{len(RESP_CASES)} edge cases: the same replies as redis-server 7.0")


# ---------------------------------------------------------------------------------------
# Item 7: idle connections cannot lock clients out


def raise_own_nofile():
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def idle_flood(name, launch, request, answers):
    """HOLD (1,100) idle connections to a server at `ulimit -n 1024`; then a new client
    must be served or refused within 3 s. Returns a description."""
    raise_own_nofile()
    hold = env("HOLD", 1100)
    process, addr = launch()
    held = []
    for _ in range(hold):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(addr)
        held.append(s)
    time.sleep(1)
    t = time.monotonic()
    try:
        s = connect(addr, timeout=3)
        s.sendall(request)
        reply = s.recv(200)
    except (socket.timeout, ConnectionResetError) as e:
        fail(f"{name}: a new client got {e!r} with {hold} idle connections held")
    took = time.monotonic() - t
    kind = next((k for k, prefix in answers if reply.startswith(prefix)), None)
    if kind is None or took > 3:
        fail(f"{name}: a new client got {reply!r} after {took:.2f} s")
    for s in held:
        s.close()
    return f"{name}: {kind} in {took * 1000:.0f} ms"


def kv_idle_flood():
    """kv_server (and redis-server with REDIS=1) at `ulimit -n 1024`, 1,100 idle
    connections held: a new client is served or refused within 3 s."""
    answers = [("served", b"+PONG"), ("refused (max clients)", b"-ERR max number of clients")]
    parts = []
    for target, launch in kv_targets():
        if target == "kv_server":
            launch = lambda: start("kv_server", preexec=rlimit_nofile(1024))
        else:
            launch = lambda: start_redis(preexec=rlimit_nofile(1024))
        parts.append(idle_flood(target, launch, b"PING\r\n", answers))
    result("; ".join(parts) + " (1,100 idle connections, ulimit -n 1024)")


def http_idle_flood():
    """http_hello at `ulimit -n 1024`, 1,100 idle connections held: a new client is
    served or refused within 3 s."""
    launch = lambda: start("http_hello", preexec=rlimit_nofile(1024))
    answers = [("served", b"HTTP/1.1 200"), ("refused (503)", b"HTTP/1.1 503")]
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    result(idle_flood("http_hello", launch, request, answers) + " (1,100 idle connections, ulimit -n 1024)")


def closed_within(s, low, high):
    """Whether the server closes `s` between `low` and `high` seconds from now."""
    s.settimeout(high + 1)
    t = time.monotonic()
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        return None
    took = time.monotonic() - t
    return took if low <= took <= high else None


def timeouts():
    """kv_server --timeout 1 closes a silent client within 1-2 s and keeps an active one;
    http_hello --header-timeout 1 --idle-timeout 1 closes a half-sent header and an idle
    kept-alive connection the same way, and keeps a client that keeps asking."""
    process, addr = start("kv_server", "--timeout", "1")
    silent = connect(addr)
    active = connect(addr)
    t = time.monotonic()
    while time.monotonic() - t < 2.5:
        if command(active, b"PING\r\n") != b"+PONG\r\n":
            fail("kv_server: an active client was closed")
        time.sleep(0.3)
    if closed_within(silent, 0, 0.1) is None:
        fail("kv_server --timeout 1: a silent client still open after 2.5 s")
    process, addr = start("http_hello", "--header-timeout", "1", "--idle-timeout", "1")
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    half = connect(addr)
    half.sendall(request[:10])
    idle = connect(addr)
    idle.sendall(request)
    idle.recv(200)
    active = connect(addr)
    t = time.monotonic()
    while time.monotonic() - t < 2.5:
        active.sendall(request)
        if not active.recv(200).endswith(b"Hello, world!"):
            fail("http_hello: an active client was not answered")
        time.sleep(0.3)
    for what, s in [("a half-sent header", half), ("an idle keep-alive", idle)]:
        if closed_within(s, 0, 0.1) is None:
            fail(f"http_hello: {what} still open after 2.5 s")
    result("kv_server --timeout 1 and http_hello --header-timeout 1 --idle-timeout 1: silent "
           "connections closed within 2.5 s, active ones kept")


# ---------------------------------------------------------------------------------------
# Items 1 and 2: a chat burst drops nobody, and memory stays bounded


def chat_burst(readers, lines, name):
    """READERS clients read as fast as they can; one more sends LINES empty lines in one
    write. Every reader must get every line (no one dropped as slow), and the server's
    peak RSS must stay within its idle RSS + members x 1 MiB (the per-client cap)."""
    import selectors

    process, addr = start("chat_server")
    socks = []
    for _ in range(readers):
        s = connect(addr, timeout=10)
        socks.append(s)
    sender = connect(addr, timeout=10)
    sender_name = "%s:%d" % sender.getsockname()
    want_line = sender_name.encode() + b": "
    time.sleep(0.5)
    selector = selectors.DefaultSelector()
    pending = {}
    for s in socks:
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        pending[s] = [b"", 0]  # partial line, lines from the sender
    # The joins and welcomes first: read until quiet.
    while selector.select(0.3):
        for key, _ in selector.select(0):
            try:
                key.fileobj.recv(1 << 20)
            except BlockingIOError:
                pass
    idle_kib = rss_kib(process.pid)
    sender.sendall(b"\n" * lines)
    done = 0
    deadline = time.monotonic() + env("CHAT_LIMIT", 60)
    while done < readers and time.monotonic() < deadline:
        for key, _ in selector.select(1):
            s = key.fileobj
            try:
                data = s.recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                fail(f"a reader was disconnected after {pending[s][1]} of {lines} lines")
            text = pending[s][0] + data
            parts = text.split(b"\n")
            pending[s][0] = parts.pop()
            before = pending[s][1]
            pending[s][1] += parts.count(want_line)
            if before < lines <= pending[s][1]:
                done += 1
    if done < readers:
        got = sorted(p[1] for p in pending.values())
        fail(f"only {done} of {readers} readers got all {lines} lines (least: {got[0]})")
    with open(f"/proc/{process.pid}/status") as f:
        peak_kib = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    allowed = idle_kib + (readers + 1) * 1024
    if peak_kib > allowed:
        fail(f"peak RSS {peak_kib} KiB over idle {idle_kib} KiB + members x 1 MiB")
    result(
        f"{name}: {readers} readers, {lines} empty lines in one write: none dropped, all "
        f"lines delivered; RSS {idle_kib // 1024} MB idle, {peak_kib // 1024} MB peak "
        f"(bound {allowed // 1024} MB)"
    )


def chat_fast_readers():
    """Three fast readers, a burst of LINES (60,000) empty lines: nobody dropped."""
    chat_burst(3, env("LINES", 60000), "chat burst")


def chat_big_room():
    """A room of ROOM (200 in CI, 2,000 in bench/attacks.sh) and the same burst."""
    chat_burst(env("ROOM", 200), env("LINES", 60000), "chat room")


# ---------------------------------------------------------------------------------------
# Item 9: seed_server survives EMFILE and a closed stdout


def seed_emfile():
    """seed_server at `ulimit -n 64` with CLIENTS (100) clients connected at once: it
    serves those it has descriptors for, backs off for the rest instead of exiting, and
    serves them as the first ones leave."""
    clients = env("CLIENTS", 100)
    process, addr = start("seed_server", preexec=rlimit_nofile(64), stdout_devnull=True)
    socks = [connect(addr) for _ in range(clients)]
    # The first ones get descriptors and are served; the rest wait in the kernel's queue.
    for s in socks[:40]:
        s.sendall(b"ping")
        if s.recv(16) != b"ping":
            fail("no echo")
    time.sleep(0.5)
    if process.poll() is not None:
        fail(f"seed_server exited with status {process.returncode} at EMFILE")
    cpu_before = cpu_ticks(process.pid)
    time.sleep(1)
    spent = cpu_ticks(process.pid) - cpu_before
    # Then everyone is served, in turns: each leaves once echoed, freeing its descriptor.
    t = time.monotonic()
    for s in socks:
        s.settimeout(10)
        s.sendall(b"pong")
        if s.recv(16) != b"pong":
            fail("a waiting client was not served")
        s.close()
    served = time.monotonic() - t
    if process.poll() is not None:
        fail(f"seed_server exited with status {process.returncode}")
    hz = os.sysconf("SC_CLK_TCK")
    if spent > hz // 4:
        fail(f"seed_server used {spent} of {hz} ticks in one second at EMFILE: spinning")
    result(
        f"{clients} clients at `ulimit -n 64`: alive, {spent * 1000 // hz} ms CPU in 1 s at "
        f"EMFILE, all served within {served:.2f} s as descriptors freed"
    )


def seed_closed_stdout():
    """seed_server whose stdout reader has gone (`| head -1`): clients are still echoed."""
    process, addr = start("seed_server")
    process.stdout.close()
    for i in range(3):
        s = connect(addr)
        s.sendall(b"hello %d" % i)
        if s.recv(16) != b"hello %d" % i:
            fail("no echo after stdout closed")
        s.close()
    time.sleep(0.2)
    if process.poll() is not None:
        fail(f"seed_server exited with status {process.returncode}")
    result("stdout's reader gone: 3 clients echoed, server alive")


# ---------------------------------------------------------------------------------------


ATTACKS = {
    f.__name__: f
    for f in [
        kv_stalled_stderr,
        kv_log_volume,
        echo_sigterm,
        second_signal,
        sigterm_servers,
        seed_emfile,
        seed_closed_stdout,
        chat_fast_readers,
        chat_big_room,
        kv_expiry,
        kv_large_argument,
        kv_resp_edges,
        kv_idle_flood,
        http_idle_flood,
        timeouts,
    ]
}


def main():
    attack = ATTACKS.get(ATTACK)
    if attack is None:
        fail(f"no attack {ATTACK}")
    try:
        attack()
    except (OSError, ValueError) as e:
        # A connection refused or reset, a timeout: the server failed the attack.
        fail(f"{type(e).__name__}: {e}")
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()


main()
