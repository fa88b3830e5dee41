# VM test bench (included by the top-level Makefile): statically linked
# kmeshd, kmeshctl and test tools for an initramfs with no libc, and the
# target that boots Debian's kernels under qemu with kmesh.ko
# (tests/vm/run.sh).
#
#   make vm-bins    build/vm/bin/{kmeshd,kmeshctl,km_testsrv,km_testcli}
#   make vm-check   tests/vm/run.sh (root)
#   make vm-debug   the 6.12 cases on the debug kernel only

VM_BIN := $(B)/vm/bin
# Debian ships every one of these as a static archive. The BPF object is
# embedded in kmeshd through its skeleton, so the binaries are all the VM needs.
# Libraries LIBS gains later (libnl for the module's netlink family) follow
# as they are: -static makes -lfoo pick libfoo.a.
VM_STATIC_LIBS := -l:libbpf.a -l:libelf.a -l:libz.a -l:libyaml.a \
		  $(filter-out -lbpf -lelf -lz -lyaml -lmicrohttpd,$(LIBS))
# ... except libmicrohttpd, whose static archive needs GnuTLS's static chain
# (p11-kit has none): the VM's kmeshd has no /metrics (tests/vm/tel_http_stub.c);
# its local-reply responder links libmicrohttpd.a with GnuTLS stand-ins
# (tests/vm/mhd_gnutls_stub.c: no TLS is ever asked for)
VM_TEL_STUB := $(B)/vm/tel_http_stub.o $(B)/vm/mhd_gnutls_stub.o
VM_BINS := $(addprefix $(VM_BIN)/,kmeshd kmeshctl kmesh-cni km_testsrv km_testcli km_sink \
		km_kmod_test km_defer_client http_conn_bench km_smtest km_http_raw)

.PHONY: vm-bins vm-check vm-bench vm-debug

vm-bins: $(VM_BINS)

$(B)/vm/tel_http_stub.o: tests/vm/tel_http_stub.c userspace/telemetry/tel.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(B)/vm/mhd_gnutls_stub.o: tests/vm/mhd_gnutls_stub.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(VM_BIN)/kmeshd: $(KMESHD_SRCS:%.c=$(B)/%.o) $(B)/libkmesh.a $(VM_TEL_STUB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $(KMESHD_SRCS:%.c=$(B)/%.o) \
		$(B)/vm/tel_http_stub.o $(B)/libkmesh.a $(VM_STATIC_LIBS) \
		-l:libmicrohttpd.a $(B)/vm/mhd_gnutls_stub.o

$(VM_BIN)/kmeshctl: $(KMESHCTL_SRCS:%.c=$(B)/%.o) $(B)/libkmesh.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $(KMESHCTL_SRCS:%.c=$(B)/%.o) \
		$(B)/libkmesh.a $(VM_STATIC_LIBS)

$(VM_BIN)/kmesh-cni: $(CNI_SRCS:%.c=$(B)/%.o) $(B)/libkmesh.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $(CNI_SRCS:%.c=$(B)/%.o) \
		$(B)/libkmesh.a $(VM_STATIC_LIBS)

$(VM_BIN)/%: tests/tools/%.c tests/tools/km_tool.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $< -lpthread

$(VM_BIN)/%: tests/bench/%.c tests/tools/km_tool.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $< -lpthread

$(VM_BIN)/km_kmod_test: tests/kmod/km_kmod_test.c $(KMOD_TEST_SKELS) $(B)/libkmesh.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -I$(B)/tests/kmod -static -o $@ $< $(B)/libkmesh.a \
		$(VM_STATIC_LIBS)

$(VM_BIN)/km_defer_client: tests/kmod/km_defer_client.c tests/tools/km_tool.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $< -lpthread

vm-check: vm-bins module
	tests/vm/run.sh

# The 6.12 cases on the debug kernel (KASAN, lockdep, atomic-sleep checks,
# kmemleak: docs/debug-kernel.md), built on first use
vm-debug: vm-bins module
	KM_VM_ONLY=6.12-debug KM_VM_NO_DKMS=1 tests/vm/run.sh

# L7 benchmark in the 6.12 VM: kmesh L7 vs L4 vs one HAProxy, and route
# matching at 64 routes (tests/vm/bench). Figures in the report's # lines.
vm-bench: vm-bins module
	KM_VM_CASES=tests/vm/bench KM_VM_ONLY=6.12 KM_VM_NO_DKMS=1 \
		KM_VM_BINS="$(if $(shell command -v haproxy),haproxy)" tests/vm/run.sh
