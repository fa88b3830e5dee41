# kmesh top-level build: BPF objects and skeletons, userspace (kmeshd,
# kmeshctl), the kernel module through Kbuild, tests and benchmarks.
#
#   make            everything (needs scripts/install-deps.sh once)
#   make check      every test: unit (cmocka) and host integration (root)
#   make bench      benchmarks (root): figures and ratios, never pass/fail
#   make demo       the main job: kmeshd, an example config, real traffic
#   make module     kmesh.ko against KDIR (default: installed 6.12 headers)
#   make module-matrix  kmesh.ko for every supported Debian kernel (root)

KVER    ?= 6.12.95+deb12-amd64
KDIR    ?= /usr/src/linux-headers-$(KVER)
CLANG   ?= clang-19
BPFTOOL ?= bpftool
CC      ?= gcc

# vmlinux.h comes from the BTF of the 6.12 headers' vmlinux (BTF-only, shipped
# by linux-headers): the oldest kernel the L7 path targets, and the same on
# every machine whatever kernel it runs. CO-RE relocates field offsets to the
# running kernel at load time. Without those headers, the running kernel's.
BTF_SRC := $(firstword $(wildcard $(KDIR)/vmlinux) /sys/kernel/btf/vmlinux)

B        := build
Q        ?= @
WARN     := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2
# CI builds treat every warning as an error (C, BPF and the module)
ifeq ($(CI),true)
WARN     += -Werror
BPF_WERROR := -Werror
MOD_WERROR := KCFLAGS=-Werror
endif
CFLAGS   ?= -O2 -g
# the sanitizer build (make asan) sets this; CFLAGS given on the command line
# would replace the include paths below
SAN_FLAGS ?=
# VERSION: the one version of kmesh (agent, xDS user agent, kmesh.ko, DKMS)
KMESH_VERSION := $(shell cat VERSION)
# userspace, in pipeline order: config sources, the model (check, compile),
# the dataplane writers, utilities; kmeshd and kmeshctl sit on top
USR_DIRS := userspace/source/yaml userspace/source/xds userspace/model \
	    userspace/dataplane userspace/util userspace/telemetry
USR_INC  := $(USR_DIRS:%=-I%)
CFLAGS   += $(SAN_FLAGS) $(WARN) -DKMESH_VERSION='"$(KMESH_VERSION)"' -std=gnu11 -D_GNU_SOURCE -Iinclude $(USR_INC) -I$(B) -I$(B)/proto -I/usr/include/libnl3
LIBBPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
# libmicrohttpd: kmeshd's /metrics server (userspace/telemetry/http.c) and
# its local replies (userspace/dataplane/responder.c)
LIBS     := $(LIBBPF_LIBS) -lyaml -lnl-genl-3 -lnl-3 -lprotobuf-c -lnghttp2 -lssl -lcrypto -ljansson -lcares \
	    -lmicrohttpd -lpthread

# libbpf's bpf_tracing.h names the target architecture (x86, arm64, ...)
BPF_ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
		-e 's/ppc64le/powerpc/' -e 's/s390x/s390/' -e 's/riscv64/riscv/' \
		-e 's/loongarch64/loongarch/')
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) -Wall $(BPF_WERROR) \
	      -I$(B) -Iinclude -Ibpf

BPF_OBJS  := $(B)/kmesh.bpf.o $(B)/kmesh_sockmap.bpf.o
SKELS     := $(B)/kmesh.skel.h $(B)/kmesh_sockmap.skel.h

# xDS (userspace/source/xds, proto/): protobuf-c code generated from proto/ into
# $(B)/proto, compiled into libkmesh.a with everything else.
PROTOS      := $(shell find proto -name '*.proto' 2>/dev/null | sort)
PROTO_SRCS  := $(PROTOS:proto/%.proto=$(B)/proto/%.pb-c.c)
PROTO_HDRS  := $(PROTO_SRCS:.c=.h)
PROTO_OBJS  := $(PROTO_SRCS:.c=.o)
LIB_SRCS  := $(wildcard $(USR_DIRS:%=%/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(B)/%.o) $(PROTO_OBJS)
KMESHD_SRCS   := $(wildcard userspace/kmeshd/*.c)
KMESHCTL_SRCS := $(wildcard userspace/kmeshctl/*.c)
CNI_SRCS      := $(wildcard userspace/cni/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
TOOL_SRCS := $(wildcard tests/tools/*.c) $(wildcard tests/bench/*.c)
TOOL_BINS := $(patsubst %.c,$(B)/tools/%,$(notdir $(TOOL_SRCS)))

.PHONY: all bpf userspace tools tests module module-matrix module-clean check unit host \
	bench demo install uninstall dkms-install clean deps
.SECONDARY:

all: bpf userspace tools tests module

deps:
	scripts/install-deps.sh

# ---- BPF ---------------------------------------------------------------
bpf: $(BPF_OBJS) $(SKELS)

$(B)/vmlinux.h:
	@mkdir -p $(B)
	$(Q)$(BPFTOOL) btf dump file $(BTF_SRC) format c > $@.tmp && mv $@.tmp $@

$(B)/%.bpf.o: bpf/%.bpf.c $(B)/vmlinux.h $(wildcard bpf/lib/*.h include/kmesh/*.h)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/%.skel.h: $(B)/%.bpf.o
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# ---- userspace -----------------------------------------------------------
userspace: $(B)/kmeshd $(B)/kmeshctl $(B)/kmesh-cni

# -MMD: each object depends on the headers it really includes ($(B)/**/*.d);
# the generated headers come first, whatever includes them
$(B)/userspace/%.o: userspace/%.c VERSION | $(SKELS) $(PROTO_HDRS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/proto/%.pb-c.c $(B)/proto/%.pb-c.h: proto/%.proto $(PROTOS)
	@mkdir -p $(B)/proto
	$(Q)protoc-c --proto_path=proto --c_out=$(B)/proto $<

# generated code: protobuf-c's own style, not ours
$(B)/proto/%.pb-c.o: $(B)/proto/%.pb-c.c $(PROTO_HDRS)
	$(Q)$(CC) -O2 -g -I$(B)/proto -c $< -o $@

# made afresh: ar matches members by base name, so updating in place would
# replace the wrong one of envoy's three rbac.proto objects and keep the
# objects of renamed sources
$(B)/libkmesh.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/kmeshd: $(KMESHD_SRCS:%.c=$(B)/%.o) $(B)/libkmesh.a
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/kmeshctl: $(KMESHCTL_SRCS:%.c=$(B)/%.o) $(B)/libkmesh.a
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# the CNI plugin (userspace/cni): only the control socket's client
$(B)/kmesh-cni: $(CNI_SRCS:%.c=$(B)/%.o) $(B)/libkmesh.a
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# ---- tests ---------------------------------------------------------------
tools: $(TOOL_BINS)

$(B)/tools/%: tests/tools/%.c tests/tools/km_tool.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< -lpthread

$(B)/tools/%: tests/bench/%.c tests/tools/km_tool.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< -lpthread

# the router's own code, natively: needs libkmesh
$(B)/tools/route_match_bench: tests/bench/route_match_bench.c tests/tools/km_tool.h $(B)/libkmesh.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(B)/libkmesh.a $(LIBS)

tests: $(UNIT_BINS)

$(B)/tests/%: tests/unit/%.c $(B)/libkmesh.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libkmesh.a $(LIBS) -lcmocka

# libkmesh and the unit tests (the parser and matcher tables among them)
# again, under AddressSanitizer and UndefinedBehaviorSanitizer, in
# $(B)/asan; tests/run-all.sh --unit runs both builds
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	      -fno-omit-frame-pointer
.PHONY: asan
asan:
	$(Q)$(MAKE) --no-print-directory B=$(B)/asan SAN_FLAGS="$(ASAN_FLAGS)" tests

check: all vm-bins asan
	tests/run-all.sh

unit: tests userspace asan
	tests/run-all.sh --unit

host: all
	tests/run-all.sh --host

bench: all
	$(B)/tools/route_match_bench
	tests/bench/run.sh
	tests/bench/telemetry_bench.sh
	tests/bench/xds_bench.sh
	tests/bench/xds_scale_bench.sh
	tests/bench/mesh_bench.sh
	$(MAKE) vm-bench

demo: all
	scripts/demo.sh

# ---- kernel module (Kbuild) ------------------------------------------------
# Without headers the module is skipped, except under CI=true: there a
# missing kmesh.ko would leave the VM suite testing nothing, so it is an error.
module:
	$(Q)if [ -d "$(KDIR)" ]; then \
		$(MAKE) -C $(KDIR) M=$(CURDIR) $(MOD_WERROR) modules; \
	elif [ "$(CI)" = true ]; then \
		echo "module: no kernel headers at KDIR=$(KDIR) (scripts/install-deps.sh installs them); CI=true needs kmesh.ko" >&2; \
		exit 1; \
	else \
		echo "module: skipped, no kernel headers at KDIR=$(KDIR)"; \
	fi

# kmesh.ko for every supported Debian kernel, each with its own headers and
# compiler, warnings as errors (chroots cached in /var/cache/kmesh-matrix)
module-matrix:
	scripts/module-matrix.sh

module-clean:
	$(Q)[ ! -d "$(KDIR)" ] || $(MAKE) -C $(KDIR) M=$(CURDIR) clean

# ---- style: the kernel's own checkpatch.pl on kmod/ and bpf/ ------------------
# checkpatch.pl comes from Debian's linux-source-6.12 (scripts/install-deps.sh
# installs it), extracted once into $(B)/checkpatch. Ignored, on purpose:
#   BLOCK_COMMENT_STYLE  the closing */ ends the comment's last line (net style)
#   VOLATILE             route_match.c is userspace code too: no READ_ONCE there
#   CONST_STRUCT         the proto_ops copies are filled in at module init
# kmod/compat.h is the one place for kernel version checks, so there also:
#   LINUX_VERSION_CODE, CONSTANT_COMPARISON (the version test itself),
#   NEW_TYPEDEFS (km_sockaddr_t), COMPLEX_MACRO (a parameter list)
KSRC_TAR   ?= /usr/src/linux-source-6.12.tar.xz
CHECKPATCH := $(B)/checkpatch/scripts/checkpatch.pl
STYLE_SRCS := $(wildcard kmod/*.c kmod/*.h bpf/*.c bpf/lib/*.h)
STYLE_SRCS := $(filter-out %.mod.c kmod/compat.h,$(STYLE_SRCS))

.PHONY: style
style: $(CHECKPATCH)
	$(Q)perl $(CHECKPATCH) --no-tree --terse --show-types --quiet \
		--ignore BLOCK_COMMENT_STYLE,VOLATILE,CONST_STRUCT -f $(STYLE_SRCS)
	$(Q)perl $(CHECKPATCH) --no-tree --terse --show-types --quiet \
		--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON,NEW_TYPEDEFS,COMPLEX_MACRO \
		-f kmod/compat.h
	@echo "style: checkpatch.pl reports nothing on $(words $(STYLE_SRCS) kmod/compat.h) files"

$(CHECKPATCH):
	@mkdir -p $(B)/checkpatch
	$(Q)tar -xJf $(KSRC_TAR) -C $(B)/checkpatch --strip-components=1 \
		linux-source-6.12/scripts/checkpatch.pl \
		linux-source-6.12/scripts/spelling.txt \
		linux-source-6.12/scripts/const_structs.checkpatch

# DKMS builds for the running kernel unless DKMS_KVER names another
DKMS_KVER ?= $(shell uname -r)
dkms-install:
	dkms/dkms.sh install $(DKMS_KVER)

.PHONY: vm
vm: all vm-bins
	tests/run-all.sh --vm

# ---- install ----------------------------------------------------------------
PREFIX  ?= /usr/local
UNITDIR ?= /etc/systemd/system
# where Debian's containernetworking-plugins are (/usr/lib/cni)
CNI_BIN_DIR ?= /usr/lib/cni
install: userspace bpf
	install -D -m 0755 $(B)/kmeshd $(DESTDIR)$(PREFIX)/sbin/kmeshd
	install -D -m 0755 $(B)/kmeshctl $(DESTDIR)$(PREFIX)/bin/kmeshctl
	install -D -m 0755 $(B)/kmesh-cni $(DESTDIR)$(CNI_BIN_DIR)/kmesh-cni
	install -D -m 0644 examples/mesh.yaml $(DESTDIR)/etc/kmesh/mesh.yaml.example
	sed 's|@SBINDIR@|$(PREFIX)/sbin|; s|@DOCDIR@|$(PREFIX)/share/doc/kmesh|' \
		userspace/kmeshd/kmeshd.service.in > $(B)/kmeshd.service
	install -D -m 0644 $(B)/kmeshd.service $(DESTDIR)$(UNITDIR)/kmeshd.service

# ---- Debian packages (debian/) and the OCI image (image/) ---------------------
# make deb: kmesh and kmesh-dkms in $(B)/deb, built by dpkg-buildpackage in a
# copy of the sources (the tree keeps no packaging leftovers). The version is
# VERSION's: debian/changelog.sh writes the copy's debian/changelog from it.
DEB_DIR    := $(B)/deb
DEB_SRC    := $(DEB_DIR)/kmesh-$(KMESH_VERSION)
DEB_TREE   := Makefile Kbuild VERSION README.md bpf debian dkms docs examples include \
	      kmod proto userspace
.PHONY: deb image
deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	tar -c --exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude='.*.cmd' --exclude=Module.symvers --exclude=modules.order \
		$(DEB_TREE) | tar -x -C $(DEB_SRC)
	debian/changelog.sh > $(DEB_SRC)/debian/changelog
	cd $(DEB_SRC) && DEB_BUILD_OPTIONS="parallel=2 $$DEB_BUILD_OPTIONS" \
		dpkg-buildpackage -b --no-sign
	@ls $(DEB_DIR)/*.deb

# make image: an OCI image from scratch with the static binaries (image/build.sh)
image: vm-bins
	image/build.sh $(VM_BIN) kmesh:$(KMESH_VERSION)

clean: module-clean
	rm -rf $(B)


# ---- kmesh.ko test programs (tests/kmod; run in the VM, and on the host
# without the module) --------------------------------------------------------
KMOD_TEST_BPF := $(B)/tests/kmod/defer_test.bpf.o $(B)/tests/kmod/kfunc_refused.bpf.o
KMOD_TEST_SKELS := $(KMOD_TEST_BPF:.bpf.o=.skel.h)

$(B)/tests/kmod/%.bpf.o: tests/kmod/%.bpf.c $(B)/vmlinux.h $(wildcard bpf/lib/*.h include/kmesh/*.h)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/tests/kmod/%.skel.h: $(B)/tests/kmod/%.bpf.o
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(B)/tools/km_kmod_test: tests/kmod/km_kmod_test.c $(KMOD_TEST_SKELS) $(B)/libkmesh.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -I$(B)/tests/kmod -o $@ $< $(B)/libkmesh.a $(LIBS)

$(B)/tools/km_defer_client: tests/kmod/km_defer_client.c tests/tools/km_tool.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< -lpthread

tools: $(B)/tools/km_kmod_test $(B)/tools/km_defer_client
$(B)/userspace/model/http_parse_user.o: kmod/http_parse.c include/kmesh/http_parse.h
$(B)/userspace/model/route_match_user.o: kmod/route_match.c include/kmesh/route_match.h include/kmesh/route_table.h include/kmesh/lb_pick.h include/kmesh/http_parse.h

# VM test bench (tests/vm): last, it uses the variables above
-include $(shell find $(B) -name '*.d' 2>/dev/null)
-include tests/vm/vm.mk

# xDS tests (tests/xds): the gRPC echo client
-include tests/xds/xds_test.mk
