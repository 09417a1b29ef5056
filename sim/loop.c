/* loop.c — the epoll loop of xnet-simd. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

#define LOOP_BATCH 64

struct watch {
	int fd;
	sim_loop_fn fn;
	void *arg;
	struct watch *next;
};

struct sim_loop {
	int epfd;
	int stop;
	struct watch *watches;
	/* Watches removed during a dispatch round are freed after it, so a
	 * queued event never reaches freed memory. */
	struct watch *dead;
};

struct sim_loop *sim_loop_new(void)
{
	struct sim_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static void free_list(struct watch *w)
{
	while (w) {
		struct watch *n = w->next;
		free(w);
		w = n;
	}
}

void sim_loop_free(struct sim_loop *l)
{
	if (!l)
		return;
	free_list(l->watches);
	free_list(l->dead);
	close(l->epfd);
	free(l);
}

int sim_loop_add(struct sim_loop *l, int fd, uint32_t events, sim_loop_fn fn,
		 void *arg)
{
	struct watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOMEM;
	*w = (struct watch){ .fd = fd, .fn = fn, .arg = arg, .next = l->watches };
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(w);
		return -e;
	}
	l->watches = w;
	return 0;
}

static struct watch *find(struct sim_loop *l, int fd, struct watch ***link)
{
	for (struct watch **p = &l->watches; *p; p = &(*p)->next) {
		if ((*p)->fd == fd) {
			if (link)
				*link = p;
			return *p;
		}
	}
	return NULL;
}

int sim_loop_mod(struct sim_loop *l, int fd, uint32_t events)
{
	struct watch *w = find(l, fd, NULL);
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOENT;
	ev.data.ptr = w;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int sim_loop_del(struct sim_loop *l, int fd)
{
	struct watch **link;
	struct watch *w = find(l, fd, &link);

	if (!w)
		return -ENOENT;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	*link = w->next;
	w->fn = NULL;
	w->next = l->dead;
	l->dead = w;
	return 0;
}

int sim_loop_run(struct sim_loop *l)
{
	struct epoll_event evs[LOOP_BATCH];

	l->stop = 0;
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, LOOP_BATCH, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			if (w->fn)
				w->fn(w->fd, evs[i].events, w->arg);
		}
		free_list(l->dead);
		l->dead = NULL;
	}
	return 0;
}

void sim_loop_stop(struct sim_loop *l) { l->stop = 1; }
