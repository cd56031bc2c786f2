// Prints the input files of every `package` task as Nx's hash plan resolves them (what
// `nx show target inputs <project>:package` lists): a change to any of them changes the task's hash.
//   cwd = a workspace; stdout: JSON { "<project>:package": ["<workspace-relative file>", ...] }
import { readNxJson } from 'nx/src/config/nx-json';
import { getTaskRawInputs } from 'nx/src/hasher/check-task-files';
import { createProjectGraphAsync } from 'nx/src/project-graph/project-graph';

async function main() {
  const projectGraph = await createProjectGraphAsync({ exitOnError: true });
  const nxJson = readNxJson();
  const inputs: Record<string, string[]> = {};
  for (const [project, node] of Object.entries(projectGraph.nodes)) {
    if (!node.data.targets?.package) continue;
    const task = `${project}:package`;
    const plan = await getTaskRawInputs(task, { projectGraph, nxJson });
    if (!plan) throw new Error(`Nx has no hash plan for ${task}`);
    inputs[task] = plan.files;
  }
  process.stdout.write(JSON.stringify(inputs));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
