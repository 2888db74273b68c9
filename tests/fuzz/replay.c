/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replay.c: runs fuzz_target.c's entry point over every file of the
 * regression corpus (tests/fuzz/corpus, or the directories/files given),
 * with a plain main() so that it builds with gcc too.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef CORPUS_DIR
#define CORPUS_DIR "tests/fuzz/corpus"
#endif

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static unsigned long count, errors;

static void
replay_file(const char *path)
{
	unsigned char buf[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		printf("FAIL: fuzz_replay: cannot open %s\n", path);
		errors++;
		return;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	count++;
}

static void
replay(const char *path)
{
	struct stat sb;
	struct dirent **ents;
	char full[4096];
	int n, i;

	if (stat(path, &sb) == -1) {
		printf("FAIL: fuzz_replay: no %s\n", path);
		errors++;
		return;
	}
	if (!S_ISDIR(sb.st_mode)) {
		replay_file(path);
		return;
	}
	n = scandir(path, &ents, NULL, alphasort);
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(full, sizeof(full), "%s/%s", path,
			    ents[i]->d_name);
			replay_file(full);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
}

int
main(int argc, char **argv)
{
	int i;

	if (argc < 2)
		replay(CORPUS_DIR);
	for (i = 1; i < argc; i++)
		replay(argv[i]);
	if (errors == 0)
		printf("PASS: fuzz_replay (%lu inputs)\n", count);
	return errors ? 1 : 0;
}
