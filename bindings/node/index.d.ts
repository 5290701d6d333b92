/** Load the mlrec extension into a better-sqlite3 Database (or any object with loadExtension). */
export function load(db: { loadExtension(path: string): unknown }): void;
/** The full path of the extension library installed with the package (mlrec.so on Linux). */
export function getLoadablePath(): string;
