// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Authorization records into the idle slot (maps.h, authz_abi.h): the
 * previous generation's keys are cleared, the ops, programs, identity
 * atoms, zeroed counter rows and row names written. km_maps_apply() flips
 * km_gen (slot and KM_GEN_AUTHZ) afterwards, so a connect sees one
 * generation's policies whole.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"

static int write_ops(int fd, const struct km_authz_records *r, __u8 slot)
{
	for (size_t i = 0; i < r->n_ops; i++) {
		__u32 k = km_authz_op_index(slot, i);

		if (bpf_map_update_elem(fd, &k, &r->ops[i], BPF_ANY))
			return -errno;
	}
	return 0;
}

static int write_hash(int fd, void *keys, size_t ksz, size_t slot_off,
		      const void *vals, size_t vsz, size_t n, __u8 slot)
{
	for (size_t i = 0; i < n; i++) {
		char *k = (char *)keys + i * ksz;

		k[slot_off] = slot;
		if (bpf_map_update_elem(fd, k, (const char *)vals + i * vsz,
					BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Counter rows start at zero for the generation that uses them. */
static int zero_rows(int fd, size_t n, __u8 slot)
{
	int ncpu = libbpf_num_possible_cpus();
	struct km_authz_count *zero;
	int ret = 0;

	if (ncpu < 0)
		return ncpu;
	zero = calloc(ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	for (size_t i = 0; i < n && !ret; i++) {
		__u32 k = km_authz_row(slot, i);

		if (bpf_map_update_elem(fd, &k, zero, BPF_ANY))
			ret = -errno;
	}
	free(zero);
	return ret;
}

static int write_row_names(int fd, const struct km_authz_records *r,
			   __u8 slot)
{
	struct km_name_key k = { .kind = KM_NAME_AUTHZ, .slot = slot };
	struct km_name v;

	for (size_t i = 0; i < r->n_rows; i++) {
		k.id = i;
		memset(&v, 0, sizeof(v));
		snprintf(v.s, sizeof(v.s), "%s", r->row_names[i]);
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

int km_authz_maps_write(const struct km_maps *mp,
			const struct km_authz_records *r, __u8 slot,
			const char **what)
{
	int ret;

	*what = "clearing km_authz";
	ret = km_maps_clear_slot(mp->authz, sizeof(struct km_authz_key),
				 offsetof(struct km_authz_key, slot), slot);
	if (!ret)
		ret = km_maps_clear_slot(mp->authz_atom,
					 sizeof(struct km_authz_atom_key),
					 offsetof(struct km_authz_atom_key, slot),
					 slot);
	if (ret)
		return ret;
	*what = "km_authz_ops";
	ret = write_ops(mp->authz_ops, r, slot);
	if (!ret) {
		*what = "km_authz_atom";
		ret = write_hash(mp->authz_atom, r->atoms, sizeof(*r->atoms),
				 offsetof(struct km_authz_atom_key, slot),
				 r->atom_ids, sizeof(*r->atom_ids), r->n_atoms,
				 slot);
	}
	if (!ret) {
		*what = "km_authz_stats";
		ret = zero_rows(mp->authz_stats, r->n_rows, slot);
	}
	if (!ret) {
		*what = "km_names";
		ret = write_row_names(mp->names, r, slot);
	}
	if (!ret) {
		*what = "km_authz";
		ret = write_hash(mp->authz, r->keys, sizeof(*r->keys),
				 offsetof(struct km_authz_key, slot), r->progs,
				 sizeof(*r->progs), r->n_targets, slot);
	}
	return ret;
}
