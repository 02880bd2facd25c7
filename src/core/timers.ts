/** The longest delay a Node.js timer takes (2^31 - 1 ms); a longer one fires at once, with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
