/*
 * Bare-metal start-up for running firmware.c on QEMU's mps2-an500 (Cortex-M7):
 * the vector table, a reset handler that zeroes .bss, turns on the FPU and
 * calls main, and ARM semihosting calls (SYS_WRITE0, SYS_EXIT) so that the
 * firmware can print its logits to the host and end the emulation.
 */
#include <stdint.h>

extern uint32_t __bss_start__, __bss_end__;
/* Declared as a function only so that the table below, an array of function
 * pointers, can hold it without a cast ISO C forbids; it is an address. */
extern void __stack_top(void);
int main(void);
void rn_reset_handler(void);

static void fault_handler(void) {
    for (;;) {
    }
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    __stack_top,
    rn_reset_handler,
    fault_handler,
    fault_handler,
    fault_handler,
    fault_handler,
    fault_handler,
    0,
    0,
    0,
    0,
    fault_handler,
    fault_handler,
    0,
    fault_handler,
    fault_handler};

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void rn_semihost_write(const char *text) { semihost(0x04, text); /* SYS_WRITE0 */ }

void rn_semihost_exit(int code) {
    /* SYS_EXIT with ADP_Stopped_ApplicationExit (0x20026) and the status */
    static uint32_t block[2];
    block[0] = 0x20026;
    block[1] = (uint32_t)code;
    semihost(0x20, block);
    for (;;) {
    }
}

void rn_reset_handler(void) {
    for (uint32_t *p = &__bss_start__; p < &__bss_end__; p++) *p = 0;
    /* CPACR: full access to coprocessors 10 and 11 (the FPU) before any float code */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    rn_semihost_exit(main());
}
