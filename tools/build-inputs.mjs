// Prints what an external engine contributes to a cached target's hash; used as Nx `runtime`
// inputs of binaries:export and binaries:image. Never fails: a missing engine prints "none",
// so installing one changes the hash and the target runs again.
//   node tools/build-inputs.mjs godot    Godot binaries (GODOT_BIN, godot, godot4, godot3) and versions
//   node tools/build-inputs.mjs docker   the Docker engine's version at DOCKER_HOST or the default socket
//   node tools/build-inputs.mjs commit <paths>  the last commit touching the paths, and its time
//                                        (the image's revision and created labels)
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const what = process.argv[2];

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      const file = join(dir, name);
      if (dir && statSync(file).isFile()) return file;
    } catch {}
  }
  return undefined;
}

function version(binary) {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 20000 });
  return r.error ? 'unusable' : (r.stdout || '').trim().split('\n').pop() || 'unusable';
}

if (what === 'godot') {
  const found = process.env.GODOT_BIN ? [['GODOT_BIN', process.env.GODOT_BIN]] : ['godot', 'godot4', 'godot3'].map((n) => [n, onPath(n)]).filter(([, p]) => p);
  console.log(found.length ? found.map(([n, p]) => `${n}=${version(p)}`).join(' ') : 'godot=none');
} else if (what === 'docker') {
  const host = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  const target = host.startsWith('unix://') ? { socketPath: host.slice('unix://'.length) } : (() => {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return { host: u.hostname, port: u.port || 2375 };
  })();
  const req = request({ ...target, path: '/version', timeout: 3000 }, (res) => {
    let body = '';
    res.on('data', (c) => (body += c));
    res.on('end', () => {
      try {
        const v = JSON.parse(body);
        console.log(`docker=${v.Version} api=${v.ApiVersion} ${v.Os}/${v.Arch}`);
      } catch {
        console.log('docker=none');
      }
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => console.log('docker=none'));
  req.end();
} else if (what === 'commit') {
  const r = spawnSync('git', ['log', '-1', '--format=%H %ct', '--', ...process.argv.slice(3)], { encoding: 'utf8' });
  console.log(r.status === 0 ? r.stdout.trim() : 'commit=none');
} else {
  console.error('usage: node tools/build-inputs.mjs godot|docker|commit');
  process.exitCode = 2;
}
