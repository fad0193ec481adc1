-- 009: how many pages an image has (a multi-page TIFF: channels, a z-stack); its first page is segmented and shown.
ALTER TABLE images ADD COLUMN pages integer NOT NULL DEFAULT 1 CHECK (pages >= 1);
