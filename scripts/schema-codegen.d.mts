export declare const AJV_OPTIONS: Record<string, unknown>;
export declare function jsonSchemaText(sceneSchema: unknown): string;
export declare function validatorSource(sceneSchema: unknown): string;
export declare const ANNOTATIONS: string[];
