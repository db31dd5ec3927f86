// Copies the non-TypeScript files the service loads at run time (Lua scripts) into dist/.
import { cpSync } from 'node:fs';

cpSync('src', 'dist', { recursive: true, filter: (src) => !src.includes('.') || src.endsWith('.lua') });
