/**
 * Evaluates an Argo Rollouts `successCondition` over a Prometheus vector result, for the subset of the
 * expr language the canary AnalysisTemplate uses: `&&`-joined terms `len(result) > 0`,
 * `!isNaN(result[0])` and `result[0] <op> <number>`. Argo's evaluator (expr-lang) short-circuits `&&`, so
 * an empty result stops at `len(result) > 0` and is a failed measurement, not an error; so does this.
 * Any other term throws, so a changed condition cannot pass the tests unread.
 */
const COMPARISON = /^result\[0\]\s*(<=|>=|<|>|==)\s*(-?\d+(?:\.\d+)?)$/;

export function evaluateSuccessCondition(condition: string, result: readonly number[]): boolean {
  for (const raw of condition.split('&&')) {
    const term = raw.trim();
    if (!evaluateTerm(term, result)) return false;
  }
  return true;
}

/** The numeric bound of the condition's `result[0] <op> N` term, e.g. 1.5 for `result[0] <= 1.5`. */
export function conditionBound(condition: string): { op: string; bound: number } {
  for (const raw of condition.split('&&')) {
    const match = COMPARISON.exec(raw.trim());
    if (match) return { op: match[1]!, bound: Number(match[2]) };
  }
  throw new Error(`no "result[0] <op> N" term in ${JSON.stringify(condition)}`);
}

function evaluateTerm(term: string, result: readonly number[]): boolean {
  if (term === 'len(result) > 0') return result.length > 0;
  const first = result[0];
  if (first === undefined)
    throw new Error(`"${term}" reads result[0] of an empty result (an evaluation error in Argo)`);
  if (term === '!isNaN(result[0])') return !Number.isNaN(first);
  const match = COMPARISON.exec(term);
  if (!match) throw new Error(`unsupported successCondition term: ${JSON.stringify(term)}`);
  const bound = Number(match[2]);
  switch (match[1]) {
    case '<=':
      return first <= bound;
    case '>=':
      return first >= bound;
    case '<':
      return first < bound;
    case '>':
      return first > bound;
    default:
      return first === bound;
  }
}
