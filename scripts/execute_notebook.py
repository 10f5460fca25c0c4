"""Execute chapter notebooks in place and store their outputs, as the book and nbval expect.

    .venv/bin/python scripts/execute_notebook.py chapters/01_overfitting.ipynb [...]

Runs each notebook top to bottom in a fresh kernel from its own folder, writes
the outputs back into the file, and prints the wall time. A cell that raises
stops that notebook: the outputs up to and including the error are still
written, so the traceback can be read in the file, and the script exits 1.
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def execute(path: Path) -> bool:
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
        ok = True
    except CellExecutionError as error:
        print(f"{path}: a cell failed:\n{str(error)[-2000:]}", file=sys.stderr)
        ok = False
    nbformat.write(notebook, path)
    print(f"{path}: {'ran' if ok else 'FAILED'} in {time.perf_counter() - start:.1f} s")
    return ok


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    results = [execute(Path(arg)) for arg in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
