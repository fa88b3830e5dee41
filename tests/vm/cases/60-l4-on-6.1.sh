# boot: 6.1
# timeout: 90
# The L4 connect path on Debian bookworm's default kernel (no module: a 6.12
# kmesh.ko cannot load there). The BPF object is CO-RE against 6.12's BTF;
# if it does not load, the reason from libbpf or the verifier is the result.
. /cases/lib.sh
l4_up
l4_check
pass
