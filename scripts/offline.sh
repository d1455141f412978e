#!/usr/bin/env bash
# Run a command with no network (a fresh network namespace with only loopback) and fail if it tried to
# reach anywhere beyond loopback, or asked a DNS resolver anything, wherever the resolver listens: a look-up is an
# attempt to reach the network even when the resolver is a loopback stub (systemd-resolved's 127.0.0.53).
# Every process it starts is traced (connect, sendto, sendmsg, sendmmsg: glibc and c-ares connect() a UDP
# socket to the resolver, musl and dnspython sendto() it, glibc sends A and AAAA with one sendmmsg()).
#   scripts/offline.sh COMMAND [ARG...]
# Exit status: the command's own, or 3 when a connection beyond loopback or a DNS query was attempted.
# Needs root (or unprivileged user namespaces) and strace.
set -u
[ $# -gt 0 ] || { echo "usage: scripts/offline.sh COMMAND [ARG...]" >&2; exit 2; }
trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
if [ "$(id -u)" -eq 0 ]; then ns=(unshare --net); else ns=(unshare --net --map-root-user); fi
"${ns[@]}" bash -c 'ip link set lo up && exec strace -f -qq -yy -Y --seccomp-bpf -e trace=connect,sendto,sendmsg,sendmmsg -o "$0" "$@"' \
  "$trace" "$@"
status=$?
# Chromium's route probes: its network stack connect()s a UDP socket to Google's DNS address — port 443 before
# name resolutions (the IPv6 reachability check, IP literals included), port 53 when WebRTC lists the machine's
# networks (the default local address) — only to ask the kernel for a route: no packet is sent (here:
# ENETUNREACH) and no flag turns them off. Allowed for Chromium's and chromedriver's own threads only.
CHROMIUM_ROUTE_PROBE='^[0-9]+<(Chrome_[^>]*|ChromeDriver[^>]*)> connect\([0-9]+<UDP(v6)?:\[[0-9]+\]>, \{sa_family=AF_INET6?, sin6?_port=htons\((53|443)\), [^}]*(inet_addr\("8\.8\.8\.8"\)|"2001:4860:4860::8888")'
# AF_INET/AF_INET6 addresses other than 127.0.0.0/8 and ::1 are attempts to reach the network; so is anything sent
# to port 53, as an address (connect, sendto, sendmsg's msg_name) or as the peer of a connected socket (-yy shows
# it: <UDP:[127.0.0.1:40000->127.0.0.53:53]>, <TCPv6:[[::1]:40000->[::1]:53]>), and systemd-resolved's own socket
# (glibc's nss-resolve asks it there; resolved, outside this namespace, would then ask the network).
DNS='sin6?_port=htons\(53\)|->(\[[0-9a-fA-F:.]*\]|[0-9.]+):53\]>|sun_path="/run/systemd/resolve/io\.systemd\.Resolve"'
remote=$(grep -E 'sa_family=AF_INET6?' "$trace" | grep -vE 'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|"::ffff:127\.' \
  | grep -vE "$CHROMIUM_ROUTE_PROBE" || true)
dns=$(grep -E "$DNS" "$trace" | grep -vE "$CHROMIUM_ROUTE_PROBE" || true)
remote=$(printf '%s\n%s\n' "$remote" "$dns" | grep -v '^$' | sort -u || true)
if [ -n "$remote" ]; then
  echo "offline.sh: $(printf '%s\n' "$remote" | wc -l) attempt(s) to reach beyond loopback or a DNS resolver:" >&2
  printf '%s\n' "$remote" | head -5 | cut -c1-200 >&2
  exit 3
fi
echo "offline.sh: no attempt to reach beyond loopback, no DNS query" >&2
exit $status
