// SPDX-License-Identifier: MIT
/*
 * /init of the arm64 test VM (static, aarch64). No shell and no busybox: the
 * guest's userland is the official arm64 Node binary and its shared
 * libraries, shared from the host's cache over virtio-9p.
 *
 * Kernel command line:
 *   vmtest.repo=DIR   the repository (9p tag "repo", read-only) is mounted at
 *                     DIR, the same path as on the host; DIR/build is a tmpfs
 *                     holding the arm64 addon (RUN/vfio_cdx.node copied to
 *                     build/Release/), so node-gyp-build loads it
 *   vmtest.run=RUN    the run dir (9p tag "vmrun", writable): argv (the
 *                     command, NUL-separated; argv[0] looked up in PATH), env
 *                     (NUL-separated NAME=VALUE), cwd; the init writes status
 *                     (the command's exit status) and dmesg.txt there
 *   vmtest.rw=D1,D2   more host dirs, writable through (9p tags rw0, rw1, ...)
 *
 * /sysroot is the 9p tag "sysroot" (bin/node, lib/ with ld-linux-aarch64.so.1
 * and the libraries); /lib is a symlink into it. The command's stdout and
 * stderr are the console. The VM powers off (PSCI) when the command ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static char cmdline[4096];

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vm: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

static void finish(void)
{
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

/* The value of "name=" on the kernel command line, or NULL. */
static const char *param(const char *name)
{
	static char value[1024];
	size_t n = strlen(name);
	const char *p = cmdline;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == cmdline || p[-1] == ' ') && p[n] == '=') {
			size_t len = strcspn(p + n + 1, " \n");

			if (len >= sizeof(value))
				return NULL;
			memcpy(value, p + n + 1, len);
			value[len] = '\0';
			return value;
		}
		p += n;
	}
	return NULL;
}

static int mkdirs(const char *path)
{
	char buf[1024];
	size_t i;

	if (strlen(path) >= sizeof(buf))
		return -1;
	strcpy(buf, path);
	for (i = 1; buf[i]; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		buf[i] = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

static int mount9p(const char *tag, const char *dir, int ro)
{
	const char *opts = "trans=virtio,version=9p2000.L,msize=524288,cache=loose";

	if (mkdirs(dir) || mount(tag, dir, "9p", ro ? MS_RDONLY : 0,
				 ro ? opts : "trans=virtio,version=9p2000.L,msize=524288")) {
		say("cannot mount 9p tag %s at %s: %s", tag, dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The whole file in a NUL-terminated malloc'd buffer; *len its length. */
static char *slurp(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((r = read(fd, buf + n, cap - n)) > 0) {
		n += r;
		if (n == cap) {
			char *bigger = realloc(buf, 2 * cap + 1);

			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* NUL-separated strings → a NULL-terminated vector (pointing into buf). */
static char **split(char *buf, size_t len)
{
	size_t i, count = 0, k = 0;
	char **v;

	for (i = 0; i < len; i++)
		count += buf[i] == '\0';
	v = calloc(count + 2, sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < len; i += strlen(buf + i) + 1)
		v[k++] = buf + i;
	return v;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, n) != n) {
			n = -1;
			break;
		}
	}
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

static void write_text(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	if (write(fd, text, len) != (ssize_t)len)
		say("short write to %s", path);
	close(fd);
}

static void save_dmesg(const char *run)
{
	char path[1100];
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf;
	int n;

	if (size <= 0)
		return;
	buf = malloc(size);
	if (!buf)
		return;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	snprintf(path, sizeof(path), "%s/dmesg.txt", run);
	if (n > 0)
		write_text(path, buf, n);
	free(buf);
}

static double uptime(void)
{
	size_t len;
	char *text = slurp("/proc/uptime", &len);
	double up = text ? atof(text) : 0;

	free(text);
	return up;
}

int main(void)
{
	char path[1100], *argv_buf, *env_buf, *cwd;
	size_t argv_len, env_len, cwd_len;
	const char *repo, *run, *rw, *p;
	char **argv, **envp;
	int fd, status, rc, i;
	pid_t pid;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mkdir("/dev/shm", 01777);
	mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777");
	mkdir("/dev/pts", 0755);
	mount("devpts", "/dev/pts", "devpts", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);

		cmdline[n > 0 ? n : 0] = '\0';
		close(fd);
	}

	repo = param("vmtest.repo");
	repo = repo ? strdup(repo) : NULL;
	run = param("vmtest.run");
	run = run ? strdup(run) : NULL;
	rw = param("vmtest.rw");
	rw = rw ? strdup(rw) : NULL;
	if (!repo || !run) {
		say("vmtest.repo= and vmtest.run= are required");
		finish();
	}
	if (mount9p("sysroot", "/sysroot", 1) || mount9p("repo", repo, 1) ||
	    mount9p("vmrun", run, 0))
		finish();

	/* The arm64 addon where node-gyp-build looks first: build/Release. */
	snprintf(path, sizeof(path), "%s/build", repo);
	if (mount("tmpfs", path, "tmpfs", 0, "mode=0755")) {
		say("cannot mount a tmpfs at %s: %s", path, strerror(errno));
		finish();
	}
	snprintf(path, sizeof(path), "%s/build/Release", repo);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/vfio_cdx.node", run);
	{
		char to[1100];

		snprintf(to, sizeof(to), "%s/build/Release/vfio_cdx.node", repo);
		if (copy_file(path, to))
			say("no arm64 addon at %s: %s", path, strerror(errno));
	}
	for (i = 0, p = rw; p && *p; i++) {
		size_t len = strcspn(p, ",");
		char dir[1024], tag[16];

		snprintf(dir, sizeof(dir), "%.*s", (int)len, p);
		snprintf(tag, sizeof(tag), "rw%d", i);
		mount9p(tag, dir, 0);
		p += len + (p[len] == ',');
	}

	snprintf(path, sizeof(path), "%s/argv", run);
	argv_buf = slurp(path, &argv_len);
	snprintf(path, sizeof(path), "%s/env", run);
	env_buf = slurp(path, &env_len);
	snprintf(path, sizeof(path), "%s/cwd", run);
	cwd = slurp(path, &cwd_len);
	if (!argv_buf || !env_buf || !cwd || !argv_len) {
		say("the run dir %s lacks argv, env or cwd", run);
		finish();
	}
	argv = split(argv_buf, argv_len);
	envp = split(env_buf, env_len);

	{	/* plain \n line ends on the console (logs, CI) */
		struct termios t;

		if (!tcgetattr(1, &t)) {
			t.c_oflag &= ~ONLCR;
			tcsetattr(1, TCSANOW, &t);
		}
	}
	say("running the command at %.2f s", uptime());
	pid = fork();
	if (pid == 0) {
		const char *paths;

		if (chdir(cwd)) {
			say("cannot chdir to %s: %s", cwd, strerror(errno));
			_exit(125);
		}
		paths = getenv("PATH");
		for (i = 0; envp[i]; i++) {
			if (!strncmp(envp[i], "PATH=", 5))
				paths = envp[i] + 5;
		}
		/* argv[0] through the command's PATH */
		if (!strchr(argv[0], '/') && paths) {
			const char *d = paths;

			while (*d) {
				size_t len = strcspn(d, ":");
				char exe[1100];

				snprintf(exe, sizeof(exe), "%.*s/%s", (int)len, d, argv[0]);
				if (!access(exe, X_OK)) {
					execve(exe, argv, envp);
					break;
				}
				d += len + (d[len] == ':');
			}
		}
		execve(argv[0], argv, envp);
		say("cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	rc = 125;
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	say("command exited with status %d at %.2f s", rc, uptime());
	snprintf(path, sizeof(path), "%d\n", rc);
	{
		char file[1100];

		snprintf(file, sizeof(file), "%s/status", run);
		write_text(file, path, strlen(path));
	}
	save_dmesg(run);
	finish();
	return 0;
}
