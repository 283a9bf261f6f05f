# A /dev/log stand-in for tests: receives syslog(3) datagrams on a unix
# socket and appends each as one line to a file. Node has no unix datagram
# sockets, hence this small helper. Usage: syslog-sink.py SOCKET OUTFILE
import os, signal, socket, sys
path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o666)
def stop(*_):
    try:
        os.unlink(path)
    finally:
        sys.exit(0)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
print("ready", flush=True)
with open(out, "ab", buffering=0) as f:
    while True:
        data = sock.recv(65536)
        f.write(data.rstrip(b"\0\n") + b"\n")
