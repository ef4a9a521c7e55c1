import { runService } from "@ktsw/task-shared/service";
import { workerService } from "./service.ts";

await runService(workerService);
