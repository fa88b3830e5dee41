# xDS tests (tests/xds). The gRPC echo client links libkmesh.a, which the
# generic tests/tools rule does not; run by tests/xds/grpc_echo_test.sh.
$(B)/tools/km_grpc_echo: tests/xds/km_grpc_echo.c $(B)/libkmesh.a userspace/source/xds/grpc.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(B)/libkmesh.a $(LIBS)

tools: $(B)/tools/km_grpc_echo
