// Generated C sources for the throughput benchmark: small but not trivial
// translation units (a few libc headers, a struct, sorting, hashing, a state
// machine, a small matrix product), each one different, so that every object
// differs and no compile is a copy of another.

/** The text of unit `i` (0-based); the same `i` always gives the same text. */
export function cSource(i) {
  const n = 2 + (i % 4);
  const dim = 4 + (i % 4);
  const fns = [];
  for (let k = 0; k < n; k++) {
    const id = `${i}_${k}`;
    fns.push(`
struct rec_${id} { int id; double weight; char name[${24 + ((i + k) % 16)}]; };

static int cmp_${id}(const void *a, const void *b) {
  const struct rec_${id} *x = a, *y = b;
  if (x->weight != y->weight) return x->weight < y->weight ? -1 : 1;
  return strcmp(x->name, y->name) ${k % 2 ? '+' : '-'} (x->id - y->id);
}

unsigned hash_${id}(const char *s) {
  unsigned h = ${2166136261 ^ (i * 7919 + k)}u;
  while (*s) h = (h ^ (unsigned char)*s++) * ${16777619 + 2 * k}u;
  return h;
}

int sort_${id}(struct rec_${id} *r, size_t count) {
  for (size_t j = 0; j < count; j++) {
    snprintf(r[j].name, sizeof r[j].name, "r%zu-%d", j, ${i + k});
    r[j].weight = (double)(hash_${id}(r[j].name) % ${97 + k}) / ${3 + k}.0;
  }
  qsort(r, count, sizeof *r, cmp_${id});
  int best = 0;
  for (size_t j = 1; j < count; j++) if (r[j].weight > r[best].weight) best = (int)j;
  return best;
}

int step_${id}(int state, int c) {
  switch (state) {
  case 0: return c == ${32 + k} ? 1 : c > ${64 + (i % 32)} ? 2 : 0;
  case 1: return c == '\\n' ? 0 : ${k % 3} + 1;
  case 2: return (c * ${(i % 13) + 3}) % 4;
  default: return state ^ (c & ${k + 1});
  }
}

void mul_${id}(double out[${dim}][${dim}], const double a[${dim}][${dim}], const double b[${dim}][${dim}]) {
  for (int r = 0; r < ${dim}; r++)
    for (int c = 0; c < ${dim}; c++) {
      double s = 0;
      for (int m = 0; m < ${dim}; m++) s += a[r][m] * b[m][c] * ${1 + k}.5;
      out[r][c] = s;
    }
}
`);
  }
  return `/* generated unit ${i} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
${fns.join('')}
int unit_${i}(const char *text) {
  int state = 0;
  for (const char *p = text; *p; p++) state = step_${i}_0(state, *p);
  return state + (int)hash_${i}_${n - 1}(text);
}
`;
}

/** A Makefile that builds u0.o ... u{count-1}.o from their .c files with $(CC) -O2. */
export function makefile(count) {
  const objs = Array.from({ length: count }, (_, i) => `u${i}.o`).join(' ');
  return `CFLAGS = -O2 -Wall
OBJS = ${objs}
all: $(OBJS)
%.o: %.c
\t$(CC) $(CFLAGS) -c $< -o $@
clean:
\trm -f $(OBJS)
.PHONY: all clean
`;
}
