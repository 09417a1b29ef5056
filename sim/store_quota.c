/*
 * store_quota.c — xenstore quotas, with C xenstored's defaults: 1000 nodes
 * per domain, 128 watches and 10 transactions per connection, 1024 nodes
 * touched by one transaction, 5
 * permission entries, 20 outstanding replies; values up to 4096 bytes;
 * and (ours: a guest has no sockets on Xen) 256 connections per guest.
 * They bind guests only (domain 0 is exempt, as in xenstored); going over
 * one is an error reply (ENOSPC, E2BIG), never a crash. The output backlog
 * bound (1 MiB of unread replies and events per guest connection, at
 * least 64 MiB for domain 0) applies to every connection: past it the
 * connection is dropped rather than the daemon growing without limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const struct {
	const char *name;
	size_t off;
} names[] = {
	{ "nodes", offsetof(struct st_quota, nodes) },
	{ "value-size", offsetof(struct st_quota, value_size) },
	{ "watches", offsetof(struct st_quota, watches) },
	{ "transactions", offsetof(struct st_quota, txns) },
	{ "transaction-nodes", offsetof(struct st_quota, txn_nodes) },
	{ "permissions", offsetof(struct st_quota, perms) },
	{ "outstanding", offsetof(struct st_quota, outstanding) },
	{ "connections", offsetof(struct st_quota, conns) },
	{ "output-bytes", offsetof(struct st_quota, out_bytes) },
};

void st_quota_defaults(struct st_quota *q)
{
	*q = (struct st_quota){
		.nodes = 1000, .value_size = 4096, .watches = 128, .txns = 10,
		.txn_nodes = 1024,
		.perms = 5, .outstanding = 20, .conns = 256,
		.out_bytes = 1u << 20,
	};
}

int st_quota_set(struct st_quota *q, const char *name, const char *val)
{
	unsigned long v;
	char *end;

	if (val[0] < '0' || val[0] > '9')
		return EINVAL;
	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || *end || v == 0 || v > 1000000000ul)
		return EINVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*(unsigned *)((char *)q + names[i].off) = (unsigned)v;
			return 0;
		}
	}
	return EINVAL;
}

int st_quota_show(const struct st_quota *q, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n = snprintf(buf + used, len - used, "%s %u\n", names[i].name,
				 *(const unsigned *)((const char *)q + names[i].off));

		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return (int)used;
}
