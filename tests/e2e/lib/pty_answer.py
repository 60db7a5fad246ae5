import os, pty, sys, select, time
# pty_answer.py ANSWER CMD...: runs CMD on a pseudo-terminal, answers ANSWER to the first "[y/N]" question,
# prints everything the command wrote and exits with its exit code.
answer, cmd = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
out, asked, deadline = b"", False, time.time() + 300
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 1)
    if not r:
        continue
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not asked and b"[y/N]" in out:
        os.write(fd, answer.encode() + b"\n")
        asked = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
sys.stdout.write("\nASKED=%s\n" % asked)
sys.exit(os.waitstatus_to_exitcode(status))
