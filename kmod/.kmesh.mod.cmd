savedcmd_/work/main/kmod/kmesh.mod := printf '%s\n'   main.o | awk '!x[$$0]++ { print("/work/main/kmod/"$$0) }' > /work/main/kmod/kmesh.mod
