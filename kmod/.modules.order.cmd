savedcmd_/work/main/kmod/modules.order := {   echo /work/main/kmod/kmesh.o; :; } > /work/main/kmod/modules.order
