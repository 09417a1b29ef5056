/* cmd_top.c — `xnet top`: a live, full-screen view of every vif's rates
 * (like xentop), refreshed every DELAY seconds from the backend's stats
 * socket; sortable by column; `q` quits. -b prints plain frames instead. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "xnet.h"
#include "xnx_log.h"
#include "xnx_xs.h"

static const char top_usage[] =
	"usage: xnet top [-d SECONDS] [-b] [-n ITERATIONS] [-s COLUMN] [--socket PATH]\n"
	"  Live per-vif rates from xnetback's stats socket, refreshed every\n"
	"  SECONDS (default 1). Keys: q quit, s / S next / previous sort column,\n"
	"  r reverse the order, 1-9 sort by that column, space refresh now.\n"
	"  -b  batch mode: plain frames on stdout, no terminal needed\n"
	"  -n  stop after ITERATIONS frames (default: never; batch default 1)\n"
	"  -s  initial sort column: vif, domain, state, txpps, txbps, rxpps,\n"
	"      rxbps, drops, kicks (default txbps)\n";

#define MAX_ROWS 512

struct row {
	char vif[32], domain[32];
	unsigned domid, devid;
	int connected;
	double txpps, txbps, rxpps, rxbps, drops, kicks;
	unsigned long long txp, rxp;
};

enum col { COL_VIF, COL_DOMAIN, COL_STATE, COL_TXPPS, COL_TXBPS, COL_RXPPS, COL_RXBPS,
	   COL_DROPS, COL_KICKS, COL_MAX };
static const char *const col_names[COL_MAX] = {
	"vif", "domain", "state", "txpps", "txbps", "rxpps", "rxbps", "drops", "kicks",
};

struct top {
	const char *sock;
	double delay;
	bool batch;
	long iterations;
	enum col sort;
	bool reverse;
	struct xnt_stats prev;
	bool have_prev;
	uint64_t prev_ns;
	struct row rows[MAX_ROWS];
	int nrows;
	char msg[600];
};

static struct termios saved_tio;
static bool tio_saved;
static volatile sig_atomic_t top_quit;

static void restore_term(void)
{
	if (!tio_saved)
		return;
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	fputs("\033[?25h\033[?1049l", stdout);	/* cursor back, leave alt screen */
	fflush(stdout);
	tio_saved = false;
}

static void on_signal(int sig) { top_quit = 1; }

static int raw_term(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -errno;
	t = saved_tio;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
		return -errno;
	tio_saved = true;
	atexit(restore_term);
	fputs("\033[?1049h\033[?25l", stdout);	/* alt screen, hide cursor */
	return 0;
}

static double rate(unsigned long long now, unsigned long long before, double secs)
{
	return now >= before && secs > 0 ? (double)(now - before) / secs : 0;
}

static double value(const struct row *r, enum col c)
{
	switch (c) {
	case COL_TXPPS: return r->txpps;
	case COL_TXBPS: return r->txbps;
	case COL_RXPPS: return r->rxpps;
	case COL_RXBPS: return r->rxbps;
	case COL_DROPS: return r->drops;
	case COL_KICKS: return r->kicks;
	case COL_STATE: return r->connected;
	default: return 0;
	}
}

static enum col sort_col;
static bool sort_rev;

/* Names ascending, numbers descending (busiest first), like xentop. */
static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int r;

	if (sort_col == COL_VIF)
		r = strcmp(x->vif, y->vif);
	else if (sort_col == COL_DOMAIN)
		r = strcmp(x->domain, y->domain);
	else
		r = value(x, sort_col) < value(y, sort_col) ? 1
		    : value(x, sort_col) > value(y, sort_col) ? -1 : strcmp(x->vif, y->vif);
	return sort_rev ? -r : r;
}

static void sort_rows(struct top *t)
{
	sort_col = t->sort;
	sort_rev = t->reverse;
	qsort(t->rows, (size_t)t->nrows, sizeof(t->rows[0]), cmp_rows);
}

/* One sample: rows with rates since the previous sample. */
static void sample(struct top *t, struct xs_handle *xs)
{
	struct xnt_stats st;
	uint64_t now = xnx_now_ns();
	double secs = t->have_prev ? (double)(now - t->prev_ns) / 1e9 : 0;
	char why[512];

	t->nrows = 0;
	t->msg[0] = '\0';
	if (xnt_stats_fetch_all(t->sock, &st, why, sizeof(why)) < 0) {
		snprintf(t->msg, sizeof(t->msg), "no stats: %s", why);
		return;
	}
	for (int i = 0; i < st.nvifs && t->nrows < MAX_ROWS; i++) {
		const struct xnt_vifstats *v = &st.vif[i];
		const struct xnt_vifstats *p = t->have_prev ? xnt_stats_find(&t->prev, v->domid, v->devid) : NULL;
		const struct xnt_counters *c = &v->c, *pc = p ? &p->c : c;
		struct row *r = &t->rows[t->nrows++];

		memset(r, 0, sizeof(*r));
		snprintf(r->vif, sizeof(r->vif), "%s", v->name);
		if (xs)
			xnt_domain_name(xs, v->domid, r->domain, sizeof(r->domain));
		r->domid = v->domid;
		r->devid = v->devid;
		r->connected = (int)xnt_ctr(c, "connected");
		r->txp = xnt_ctr(c, "tx_packets");
		r->rxp = xnt_ctr(c, "rx_packets");
		r->txpps = rate(r->txp, xnt_ctr(pc, "tx_packets"), secs);
		r->rxpps = rate(r->rxp, xnt_ctr(pc, "rx_packets"), secs);
		r->txbps = 8 * rate(xnt_ctr(c, "tx_bytes"), xnt_ctr(pc, "tx_bytes"), secs);
		r->rxbps = 8 * rate(xnt_ctr(c, "rx_bytes"), xnt_ctr(pc, "rx_bytes"), secs);
		r->drops = rate(xnt_drops_total(c), xnt_drops_total(pc), secs);
		r->kicks = rate(xnt_ctr(c, "notify_received") + xnt_ctr(c, "notify_sent"),
				xnt_ctr(pc, "notify_received") + xnt_ctr(pc, "notify_sent"), secs);
	}
	xnt_stats_free(&t->prev);
	t->prev = st;
	t->have_prev = true;
	t->prev_ns = now;
	sort_rows(t);
}

static void draw(const struct top *t, int height)
{
	const char *eol = t->batch ? "\n" : "\033[K\n";
	time_t now = time(NULL);
	char when[16];
	int lines = 3;

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	if (!t->batch)
		fputs("\033[H", stdout);
	printf("xnet top - %s  %d vif(s)  delay %.1fs  sort %s%s  [q quit, s/S sort, r reverse]%s",
	       when, t->nrows, t->delay, col_names[t->sort], t->reverse ? " (reversed)" : "", eol);
	printf("%s%s", t->msg, eol);
	printf("%-15s %-12s %5s %-5s %9s %11s %9s %11s %8s %8s %10s %10s%s", "VIF", "DOMAIN",
	       "DEVID", "STATE", "TX-PPS", "TX-BPS", "RX-PPS", "RX-BPS", "DROPS/S", "KICKS/S",
	       "TX-PKTS", "RX-PKTS", eol);
	for (int i = 0; i < t->nrows && (t->batch || lines < height - 1); i++, lines++) {
		const struct row *r = &t->rows[i];

		printf("%-15s %-12s %5u %-5s %9.0f %11.0f %9.0f %11.0f %8.0f %8.0f %10llu %10llu%s",
		       r->vif, r->domain, r->devid, r->connected ? "conn" : "down", r->txpps,
		       r->txbps, r->rxpps, r->rxbps, r->drops, r->kicks, r->txp, r->rxp, eol);
	}
	if (!t->batch)
		fputs("\033[J", stdout);	/* clear what the last frame left below */
	else
		fputc('\n', stdout);
	fflush(stdout);
}

static int term_height(void)
{
	struct winsize ws;

	return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 ? ws.ws_row : 24;
}

/* A key press: false to quit. */
static bool key(struct top *t, char c)
{
	switch (c) {
	case 'q': case 'Q': return false;
	case 's': t->sort = (enum col)((t->sort + 1) % COL_MAX); break;
	case 'S': t->sort = (enum col)((t->sort + COL_MAX - 1) % COL_MAX); break;
	case 'r': t->reverse = !t->reverse; break;
	default:
		if (c >= '1' && c <= '9')
			t->sort = (enum col)(c - '1');
	}
	return true;
}

/* Wait up to MS for keys; returns false on quit. */
static bool wait_keys(struct top *t, int ms, bool *redraw)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	char buf[16];
	ssize_t n;

	*redraw = false;
	if (t->batch) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		return !top_quit;
	}
	if (poll(&p, 1, ms) <= 0)
		return !top_quit;
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n == 0)
		return false;	/* the terminal went away */
	for (ssize_t i = 0; i < n; i++) {
		if (!key(t, buf[i]))
			return false;
		*redraw = true;
	}
	return !top_quit;
}

static int parse_args(struct top *t, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (!strcmp(a, "-b") || !strcmp(a, "--batch")) {
			t->batch = true;
		} else if ((!strcmp(a, "-d") || !strcmp(a, "--delay")) && v) {
			t->delay = strtod(v, &end);
			if (*end || end == v || !(t->delay >= 0.1 && t->delay <= 3600))
				return xnt_fail("top: -d: '%s' is not 0.1..3600 seconds", v);
			i++;
		} else if ((!strcmp(a, "-n") || !strcmp(a, "--iterations")) && v) {
			unsigned long n;
			if (xnx_parse_uint(v, 1, 1000000, &n) < 0)
				return xnt_fail("top: -n: '%s' is not 1..1000000", v);
			t->iterations = (long)n;
			i++;
		} else if ((!strcmp(a, "-s") || !strcmp(a, "--sort")) && v) {
			int c = 0;
			while (c < COL_MAX && strcmp(col_names[c], v))
				c++;
			if (c == COL_MAX)
				return xnt_fail("top: -s: no column '%s' (see --help)", v);
			t->sort = (enum col)c;
			i++;
		} else if (!strcmp(a, "--socket") && v) {
			t->sock = v;
			i++;
		} else {
			return xnt_fail("top: unexpected argument '%s' (see xnet top --help)", a);
		}
	}
	return 0;
}

int xnt_cmd_top(int argc, char **argv)
{
	static struct top t;
	struct sigaction sa = { .sa_handler = on_signal };
	struct xs_handle *xs;
	bool redraw = false;
	long frames = 0;

	for (int i = 1; i < argc; i++)
		if (xnt_is_help(argv[i])) {
			fputs(top_usage, stdout);
			return 0;
		}
	t.sock = NULL;	/* every backend's */
	t.delay = 1.0;
	t.sort = COL_TXBPS;
	if (parse_args(&t, argc, argv))
		return 1;
	if (t.batch && !t.iterations)
		t.iterations = 1;
	if (!t.batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		return xnt_fail("top: needs a terminal (use -b for batch output)");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (!t.batch && raw_term() < 0)
		return xnt_fail("top: cannot set up the terminal: %s", strerror(errno));
	xs = xnx_xs_open();
	do {	/* the first frame has no rates yet: nothing to compare with */
		if (!redraw)
			sample(&t, xs);
		else
			sort_rows(&t);
		draw(&t, term_height());
		if (t.iterations && ++frames >= t.iterations)
			break;
	} while (wait_keys(&t, (int)(t.delay * 1000), &redraw));
	restore_term();
	xnt_stats_free(&t.prev);
	if (xs)
		xs_close(xs);
	return 0;
}
