savedcmd_/work/main/modules.order := {   cat /work/main/kmod/modules.order; :; } > /work/main/modules.order
