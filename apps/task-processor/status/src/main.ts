import { runService } from "@ktsw/task-shared/service";
import { statusService } from "./service.ts";

await runService(statusService);
