/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* kmesh-cni install: the DaemonSet's init step (install.c). */
#ifndef KM_CNI_INSTALL_H
#define KM_CNI_INSTALL_H

/* argv: what follows "install". Returns the exit code. */
int km_cni_install(int argc, char **argv);

#endif
