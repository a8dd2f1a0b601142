-- Data registry: the symbolic link inside a scanned folder through which a scan found a file (its
-- source is named after the link, located at its target), so a rescan knows the source as its own
-- and drops it once the link is gone or leads elsewhere. NULL for a file found at its own path.
ALTER TABLE jotty_registry ADD COLUMN IF NOT EXISTS link TEXT;
