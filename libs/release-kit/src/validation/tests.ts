import { runTool, ValidationContext } from './findings';

/** The suites the spec's Tests section lists, relative to the tests folder. */
export const REQUIRED_TESTS = [
  'smoke/smoke_test.sh',
  'integration/test_runner.py',
  'performance/load_test.py',
  'performance/api_property_test.py',
  'performance/vr_performance_validation.py',
];

/** The oldest Python the suites promise to run on: newer syntax is an error. */
export const MINIMUM_PYTHON = '3.8';

// Parses each file with the grammar of MINIMUM_PYTHON (not the installed one), one JSON line per error.
const PARSE_PYTHON = `
import ast, json, sys
for path in sys.argv[2:]:
    try:
        with open(path, "rb") as handle:
            ast.parse(handle.read(), path, feature_version=tuple(int(n) for n in sys.argv[1].split(".")))
    except (SyntaxError, ValueError) as err:
        print(json.dumps({"path": path, "line": getattr(err, "lineno", None), "message": getattr(err, "msg", str(err))}))
`;

/** The tests section: every suite the spec lists is there, no bytecode, and every Python file parses as Python 3.8. */
export function validateTests(ctx: ValidationContext): void {
  ctx.requireFiles('required test suites', 'tests/required', REQUIRED_TESTS, "is a suite the spec's Tests section lists and is missing");
  // Running a suite in the source tree leaves bytecode that Nx's file map ships unless git ignores it.
  for (const f of ctx.files.filter((file) => /(^|\/)__pycache__\/|\.py[co]$/.test(file.path)))
    ctx.add('tests/bytecode', f.path, undefined, 'is compiled Python of one interpreter: delete it, and have git ignore __pycache__/');
  const python = ctx.files.filter((f) => f.path.endsWith('.py')).map((f) => f.path);
  if (!python.length) return;
  const interpreter = ctx.tool('python3', `python syntax (${MINIMUM_PYTHON})`);
  if (!interpreter) return;
  const run = runTool(interpreter, ['-c', PARSE_PYTHON, MINIMUM_PYTHON, ...python], { cwd: ctx.treeRoot });
  const problems = run.output.split('\n').filter((line) => line.startsWith('{'));
  for (const line of problems) {
    const { path, line: at, message } = JSON.parse(line) as { path: string; line: number | null; message: string };
    ctx.add('python/syntax', path, at ?? undefined, `${message} (Python ${MINIMUM_PYTHON})`);
  }
  if (run.status !== 0 && !problems.length)
    ctx.add('python/failed', ctx.section, undefined, run.output.trim().split('\n').pop() ?? `exit ${run.status}`);
}
