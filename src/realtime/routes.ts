import { Hono } from "hono";
import type { AppEnv } from "../http/context";

/** /socket.io/: the Engine.IO/Socket.IO gateway front door. */
export const socketRoutes = new Hono<AppEnv>();
