savedcmd_/work/main/kmod/kmesh.o := x86_64-linux-gnu-ld -m elf_x86_64 -z noexecstack --no-warn-rwx-segments   -r -o /work/main/kmod/kmesh.o @/work/main/kmod/kmesh.mod  ; ./tools/objtool/objtool --hacks=jump_label --hacks=noinstr --hacks=skylake --ibt --orc --retpoline --rethunk --sls --static-call --uaccess --prefix=16  --link  --module /work/main/kmod/kmesh.o

/work/main/kmod/kmesh.o: $(wildcard ./tools/objtool/objtool)
