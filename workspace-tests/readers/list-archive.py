"""Lists an archive with Python's standard library, one name per line, reading every member's data:
tarfile in random-access mode (r:gz) or stream mode (r|gz, the mode for a pipe or an HTTP
response), or zipfile. Directories end in "/". Used by workspace-tests/readers.test.ts."""
import sys
import tarfile
import zipfile

mode, path = sys.argv[1], sys.argv[2]
if mode == "zip":
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            archive.read(info)
            print(info.filename)
else:
    with open(path, "rb") as stream, tarfile.open(fileobj=stream, mode=mode) as archive:
        for member in archive:
            if member.isfile():
                archive.extractfile(member).read()
            print(member.name + ("/" if member.isdir() else ""))
