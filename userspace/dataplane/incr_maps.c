// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The incremental writer's store: the pinned maps (incr.h), and grace
 * periods from the kernel.
 *
 * A grace period: updating an ARRAY_OF_MAPS returns only after
 * synchronize_rcu() (the kernel's maybe_wait_bpf_programs(), there so that
 * userspace knows no program still uses the old inner map). Connect
 * programs run inside an RCU read-side section, so when the update returns
 * every connect that was running when it started has returned. That takes
 * 8-25 ms here: a thread does it, so a flip never waits for one; only a
 * cluster updated again within that time does.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "incr.h"
#include "maps.h"

struct incr_store {
	const struct km_maps *mp;
	int outer, inner;		/* the map-in-map pair */
	pthread_t thread;
	bool started, stop;
	pthread_mutex_t mu;
	pthread_cond_t want, done_cv;
	uint64_t asked, done;		/* grace periods asked for, ended */
	struct km_endpoint_key *keys;	/* scratch, KM_MAX_CLUSTER_ENDPOINTS */
};

static int write_eps(void *ctx, __u32 id, __u8 vslot,
		     const struct km_endpoint *eps, __u32 n)
{
	struct incr_store *s = ctx;
	__u32 count = n;

	if (n > KM_MAX_CLUSTER_ENDPOINTS)
		return -E2BIG;
	for (__u32 i = 0; i < n; i++)
		s->keys[i] = (struct km_endpoint_key){ .cluster_id = id,
						       .index = i, .slot = vslot };
	if (!n || (bpf_map_update_batch(s->mp->endpoint, s->keys, eps, &count,
					NULL) == 0 && count == n))
		return 0;
	for (__u32 i = 0; i < n; i++)
		if (bpf_map_update_elem(s->mp->endpoint, &s->keys[i], &eps[i],
					BPF_ANY))
			return -errno;
	return 0;
}

static int delete_eps(void *ctx, __u32 id, __u8 vslot, __u32 from, __u32 to)
{
	struct incr_store *s = ctx;
	struct km_endpoint_key k = { .cluster_id = id, .slot = vslot };

	for (k.index = from; k.index < to; k.index++)
		if (bpf_map_delete_elem(s->mp->endpoint, &k) && errno != ENOENT)
			return -errno;
	return 0;
}

static int write_cluster(void *ctx, __u32 id, __u8 vslot,
			 const struct km_cluster *c)
{
	struct incr_store *s = ctx;
	struct km_cluster_key k = { .id = id, .slot = vslot };

	return bpf_map_update_elem(s->mp->cluster, &k, c, BPF_ANY) ? -errno : 0;
}

static int set_view(void *ctx, __u32 id, __u8 slot, __u32 view)
{
	struct incr_store *s = ctx;
	__u32 k = km_cl_view_index(slot, id);

	return bpf_map_update_elem(s->mp->cl_view, &k, &view, BPF_ANY) ?
	       -errno : 0;
}

/* One synchronize_rcu(); on a kernel that refuses the update, a sleep
 * far longer than any connect program runs. */
static void grace_period(struct incr_store *s)
{
	__u32 zero = 0;

	if (s->outer < 0 ||
	    bpf_map_update_elem(s->outer, &zero, &s->inner, BPF_ANY))
		usleep(50000);
}

static void *gp_thread(void *arg)
{
	struct incr_store *s = arg;
	uint64_t target;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		if (s->done == s->asked) {
			pthread_cond_wait(&s->want, &s->mu);
			continue;
		}
		target = s->asked;
		pthread_mutex_unlock(&s->mu);
		grace_period(s);
		pthread_mutex_lock(&s->mu);
		s->done = target;
		pthread_cond_broadcast(&s->done_cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static uint64_t gp_start(void *ctx)
{
	struct incr_store *s = ctx;
	uint64_t n;

	pthread_mutex_lock(&s->mu);
	n = ++s->asked;
	pthread_cond_signal(&s->want);
	pthread_mutex_unlock(&s->mu);
	return n;
}

static bool gp_done(void *ctx, uint64_t n)
{
	struct incr_store *s = ctx;
	bool done;

	pthread_mutex_lock(&s->mu);
	done = s->done >= n;
	pthread_mutex_unlock(&s->mu);
	return done;
}

static void gp_wait(void *ctx, uint64_t n)
{
	struct incr_store *s = ctx;

	pthread_mutex_lock(&s->mu);
	while (s->done < n)
		pthread_cond_wait(&s->done_cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

int km_incr_maps_ops(struct km_incr_ops *ops, const struct km_maps *mp)
{
	struct incr_store *s = calloc(1, sizeof(*s));
	LIBBPF_OPTS(bpf_map_create_opts, o);

	if (!s)
		return -ENOMEM;
	s->keys = calloc(KM_MAX_CLUSTER_ENDPOINTS, sizeof(*s->keys));
	if (!s->keys) {
		free(s);
		return -ENOMEM;
	}
	s->mp = mp;
	s->inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "km_gp_inner", 4, 4, 1,
				  NULL);
	o.inner_map_fd = s->inner;
	s->outer = s->inner < 0 ? -1 :
		   bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "km_gp", 4, 4, 1,
				  &o);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->want, NULL);
	pthread_cond_init(&s->done_cv, NULL);
	if (pthread_create(&s->thread, NULL, gp_thread, s) == 0)
		s->started = true;
	*ops = (struct km_incr_ops){
		.write_eps = write_eps, .delete_eps = delete_eps,
		.write_cluster = write_cluster, .set_view = set_view,
		.gp_start = gp_start, .gp_wait = gp_wait, .gp_done = gp_done,
		.ctx = s,
	};
	if (!s->started) {
		km_incr_maps_ops_free(ops);
		return -EAGAIN;
	}
	return 0;
}

void km_incr_maps_ops_free(struct km_incr_ops *ops)
{
	struct incr_store *s = ops->ctx;

	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->want);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	if (s->outer >= 0)
		close(s->outer);
	if (s->inner >= 0)
		close(s->inner);
	free(s->keys);
	free(s);
	ops->ctx = NULL;
}
