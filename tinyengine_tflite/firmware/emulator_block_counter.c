/* Built for the host (not the firmware): a unicorn block hook that counts how often each translation block ran,
 * per segment (the layer the firmware is in), and how often the next block did not start where it ends (a taken
 * branch). The emulator costs each distinct block once afterwards (tinyengine_tflite.cycle_model), so the hook
 * itself is a hash-table update, with no Python call per block. */
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint64_t address;
    uint32_t size;
    int32_t segment;
    uint64_t executions;            /* 0: empty slot */
    uint64_t taken;                 /* times the next block executed was not the fall-through */
} te_block;

typedef struct {
    te_block *table;
    uint64_t capacity;              /* a power of two */
    uint64_t used;
    int64_t segment;                /* the caller sets it between blocks */
    te_block *previous;
    uint64_t dropped;               /* blocks not counted: the table could not grow */
} te_blocks;

static te_block *te_find(te_block *table, uint64_t capacity, uint64_t address, uint32_t size, int32_t segment) {
    uint64_t h = address * 0x9E3779B97F4A7C15ull ^ (uint64_t)size << 40 ^ (uint64_t)(uint32_t)segment * 0xC2B2AE3Dull;
    uint64_t k = (h ^ h >> 29) & (capacity - 1);
    while (table[k].executions &&
           !(table[k].address == address && table[k].size == size && table[k].segment == segment)) {
        k = (k + 1) & (capacity - 1);
    }
    return &table[k];
}

static int te_grow(te_blocks *b) {
    const uint64_t capacity = b->capacity ? b->capacity * 2 : 4096;
    te_block *table = calloc(capacity, sizeof *table);
    te_block *previous = NULL;
    uint64_t i;
    if (table == NULL) {
        return -1;
    }
    for (i = 0; i < b->capacity; ++i) {
        const te_block *old = &b->table[i];
        if (old->executions) {
            te_block *e = te_find(table, capacity, old->address, old->size, old->segment);
            *e = *old;
            if (old == b->previous) {
                previous = e;
            }
        }
    }
    free(b->table);
    b->table = table;
    b->capacity = capacity;
    b->previous = previous;
    return 0;
}

void te_blocks_hook(void *uc, uint64_t address, uint32_t size, void *user) {
    te_blocks *b = (te_blocks *)user;
    te_block *e;
    (void)uc;
    address &= ~(uint64_t)1;
    if (b->previous != NULL && address != b->previous->address + b->previous->size) {
        b->previous->taken++;
    }
    if ((b->used + 1) * 2 > b->capacity && te_grow(b) != 0) {
        b->dropped++;
        b->previous = NULL;
        return;
    }
    e = te_find(b->table, b->capacity, address, size, (int32_t)b->segment);
    if (!e->executions) {
        e->address = address;
        e->size = size;
        e->segment = (int32_t)b->segment;
        b->used++;
    }
    e->executions++;
    b->previous = e;
}

void te_blocks_clear(te_blocks *b) {
    free(b->table);
    b->table = NULL;
    b->capacity = 0;
    b->used = 0;
    b->previous = NULL;
    b->dropped = 0;
}
